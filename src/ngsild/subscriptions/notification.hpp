// Building the NGSI-LD Notification (GS CIM 009 v1.8, 5.3.1) for one matched
// change: {"id": "urn:ngsi-ld:Notification:<uuid>", "type": "Notification",
// "subscriptionId", "notifiedAt", "data": [entity]} with the entity rendered
// in the subscription's format and attribute selection and its names
// compacted with the subscription's notification @context. For
// application/ld+json the body carries "@context"; for application/json the
// Link header names the context (its URL, else the core context).
//
// A deleted entity is notified as {"id", "type", "deletedAt"}.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "model/change_events.hpp"
#include "model/entity.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/notify/notifier.hpp"
#include "ngsild/subscriptions/subscription.hpp"

namespace urbis::ngsild {

// `entity`: the entity after the change; null for a deletion (then `event`
// gives id, type and time).
Delivery build_delivery(const std::string& tenant, const Subscription& sub, const Context& ctx,
                        const model::Entity* entity, const model::ChangeEvent& event, int64_t now_ms);

}  // namespace urbis::ngsild
