// The broker as the command service's way out: devices/ does not know the
// broker, app/ connects the two here.
#pragma once

#include "devices/commands/service.hpp"
#include "mqtt/broker/broker.hpp"

namespace urbis::app {

class BrokerDownlinkPublisher final : public devices::DownlinkPublisher {
 public:
  // `broker` must outlive this object.
  explicit BrokerDownlinkPublisher(mqtt::Broker& broker) : broker_(broker) {}

  size_t publish(const std::string& topic, std::string payload, int64_t expiry_unix_ms, bool exact_only) override {
    return broker_.publish_downlink(topic, std::move(payload), 1, expiry_unix_ms, exact_only);
  }

 private:
  mqtt::Broker& broker_;
};

}  // namespace urbis::app
