// The production NotificationSink: the Notifier. Kept apart from the manager
// so that the manager (and its tests) do not depend on the notifier's code.
#include "ngsild/notify/notifier.hpp"
#include "ngsild/subscriptions/subscription_manager.hpp"

namespace urbis::ngsild {

namespace {

class NotifierSink final : public NotificationSink {
 public:
  explicit NotifierSink(Notifier& n) : n_(n) {}
  void enqueue(Delivery d) override { n_.enqueue(std::move(d)); }
  void forget(const std::string& tenant, const std::string& id) override { n_.forget(tenant, id); }

 private:
  Notifier& n_;
};

}  // namespace

std::unique_ptr<NotificationSink> notifier_sink(Notifier& n) { return std::make_unique<NotifierSink>(n); }

}  // namespace urbis::ngsild
