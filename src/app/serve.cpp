#include "app/serve.hpp"

#include "app/allocator.hpp"
#include "app/downlink_publisher.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include <filesystem>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "config/config.hpp"
#include "devices/commands/service.hpp"
#include "devices/registry/registry.hpp"
#include "http/command_routes.hpp"
#include "http/data_routes.hpp"
#include "http/device_ingest_routes.hpp"
#include "http/device_routes.hpp"
#include "http/routes.hpp"
#include "devices/profiles/profile.hpp"
#include "ingest/device_ingest.hpp"
#include "ingest/json_ingest.hpp"
#include "ingest/upstream_bridge.hpp"
#include "model/change_events.hpp"
#include "http/server.hpp"
#include "mqtt/broker/broker.hpp"
#include "net/io_pool.hpp"
#include "net/listener.hpp"
#include "net/tcp_transport.hpp"
#include "net/tls_context.hpp"
#include "net/tls_transport.hpp"
#include "ngsild/service.hpp"
#include "security/config_auth.hpp"
#include "security/device_auth.hpp"
#include "storage/sqlite/broker_store_sqlite.hpp"
#include "storage/sqlite/command_store_sqlite.hpp"
#include "storage/sqlite/device_store_sqlite.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"
#include "storage/sqlite/subscription_store_sqlite.hpp"
#include "storage/sqlite/time_series_sqlite.hpp"

namespace urbis::app {

namespace asio = boost::asio;

namespace {

// Configuration file first, then command-line flags on top.
Result<Options> resolve_options(const ServeFlags& f) {
  Options o;
  if (!f.config_file.empty()) {
    auto loaded = load_config(f.config_file);
    if (!loaded.ok()) return loaded.status();
    o = std::move(*loaded);
  }
  if (f.data_dir) o.data_dir = *f.data_dir;
  if (f.mqtt) {
    o.mqtt.tcp.enabled = true;
    if (auto st = apply_listen(*f.mqtt, o.mqtt.tcp); !st.ok()) return Status(st.code(), "--mqtt: " + st.message());
  }
  if (f.http) {
    o.http.listener.enabled = true;
    if (auto st = apply_listen(*f.http, o.http.listener); !st.ok())
      return Status(st.code(), "--http: " + st.message());
  }
  if (f.threads) o.threads = *f.threads;
  if (f.allocator) o.allocator = *f.allocator;
  if (f.log_level) o.log_level = *f.log_level;
  if (f.allow_anonymous) o.mqtt.allow_anonymous = true;
  if (auto st = validate_options(o); !st.ok()) return st;
  return o;
}

}  // namespace

int run_serve(const ServeFlags& flags) {
  auto resolved = resolve_options(flags);
  if (!resolved.ok()) {
    std::fprintf(stderr, "urbis: %s\n", resolved.status().message().c_str());
    return 2;
  }
  Options opts = std::move(*resolved);
  // Before any thread or log sink exists: this may re-execute the process.
  const std::string allocator = activate_allocator(opts.allocator);
  log::init(opts.log_level);
  ULOG_INFO("urbis {} starting (data dir {}, {} allocator)", URBIS_VERSION, opts.data_dir, allocator);
  if (!opts.mqtt.allow_anonymous && opts.mqtt.users.empty()) {
    ULOG_WARN("no MQTT users are configured and anonymous access is off: only registered devices can connect. "
              "Add [[mqtt.users]] (hash with `urbis passwd`) or pass --allow-anonymous for a demo.");
  }

  std::error_code fec;
  std::filesystem::create_directories(opts.data_dir, fec);
  if (fec) {
    ULOG_ERROR("cannot create data dir {}: {}", opts.data_dir, fec.message());
    return 1;
  }

  SystemClock clock;
  const std::filesystem::path data(opts.data_dir);
  const auto sync = opts.storage.synchronous == "full" ? storage::sqlite::Synchronous::kFull
                                                       : storage::sqlite::Synchronous::kNormal;
  auto store = storage::sqlite::SqliteBrokerStore::open((data / "broker.db").string());
  if (!store.ok()) {
    ULOG_ERROR("cannot open broker state: {}", store.status().message());
    return 1;
  }
  // Change events leave the stores here, after each commit (ARCHITECTURE.md).
  model::ChangeBus bus;
  storage::sqlite::EntityStoreOptions entity_opts;
  entity_opts.synchronous = sync;
  auto entities = storage::sqlite::SqliteEntityStore::open(
      (data / storage::sqlite::SqliteEntityStore::kFileName).string(), bus, entity_opts);
  if (!entities.ok()) {
    ULOG_ERROR("cannot open entity state: {}", entities.status().message());
    return 1;
  }
  storage::sqlite::TimeSeriesOptions history_opts;
  history_opts.synchronous = sync;
  history_opts.clock = &clock;
  constexpr int64_t kDayMs = 24 * 3600 * 1000LL;
  history_opts.retention.raw_ms = opts.storage.raw_retention_days * kDayMs;
  history_opts.retention.minute_ms = opts.storage.minute_retention_days * kDayMs;
  history_opts.retention.hour_ms = opts.storage.hour_retention_days * kDayMs;
  history_opts.retention.idempotency_ms = opts.storage.idempotency_days * kDayMs;
  auto history = storage::sqlite::SqliteTimeSeriesStore::open(
      (data / storage::sqlite::SqliteTimeSeriesStore::kFileName).string(), history_opts);
  if (!history.ok()) {
    ULOG_ERROR("cannot open history: {}", history.status().message());
    return 1;
  }
  auto device_store = storage::sqlite::SqliteDeviceStore::open(
      (data / storage::sqlite::SqliteDeviceStore::kFileName).string(), sync);
  if (!device_store.ok()) {
    ULOG_ERROR("cannot open the device registry: {}", device_store.status().message());
    return 1;
  }
  devices::RegistryOptions registry_opts;
  registry_opts.silent_after = std::chrono::seconds(opts.devices.silent_after_s);
  devices::DeviceRegistry registry(**device_store, clock, registry_opts);
  if (auto st = registry.load(); !st.ok()) {
    ULOG_ERROR("cannot load the device registry: {}", st.message());
    return 1;
  }
  security::ConfigAuthorizer auth(opts.mqtt);
  // Registered devices first, then the users and ACL of the configuration.
  security::DeviceAuthorizer device_auth(registry, auth);
  net::IoPool pool(opts.threads);
  devices::ProfileSet profiles;
  if (auto st = profiles.load(opts.devices.profiles_dir); !st.ok()) {
    ULOG_ERROR("device profiles: {}", st.message());
    return 1;
  }
  // Declared before the broker, which uses them.
  ingest::MeasurementWriter writer(**history, **entities, clock, pool.context(0).get_executor(), &bus);
  std::unique_ptr<ingest::JsonIngestSink> ingest_sink;
  if (opts.ingest.enabled) {
    ingest_sink = std::make_unique<ingest::JsonIngestSink>(opts.ingest.topic_prefix, writer, clock);
  }
  ingest::DeviceIngestSink device_sink(registry, profiles, writer, clock, &bus);
  ingest::SinkChain sinks;
  sinks.add(ingest_sink.get());  // first: its prefix (urbis/ingest/) is more specific than urbis/<tenant>/
  sinks.add(&device_sink);
  mqtt::Broker broker(opts.mqtt, device_auth, store->get(), pool, clock);
  broker.set_ingest(&sinks);
  if (auto st = broker.load(); !st.ok()) {
    ULOG_ERROR("cannot load broker state: {}", st.message());
    return 1;
  }
  // Downlink commands: commands.db, published through the broker.
  auto command_store = storage::sqlite::SqliteCommandStore::open(
      (data / storage::sqlite::SqliteCommandStore::kFileName).string(), sync);
  if (!command_store.ok()) {
    ULOG_ERROR("cannot open the command queue: {}", command_store.status().message());
    return 1;
  }
  BrokerDownlinkPublisher downlinks(broker);
  devices::CommandService commands(registry, **command_store, downlinks, clock);
  if (auto st = commands.load(); !st.ok()) {
    ULOG_ERROR("cannot load the command queue: {}", st.message());
    return 1;
  }
  broker.set_subscribe_observer([&commands](std::string_view filter) { commands.on_subscribed(filter); });
  // ChirpStack uplinks tell which application a LoRaWAN device is in: its downlinks go there.
  device_sink.set_lorawan_route_observer(
      [&commands](const std::string& device, const std::string& app) { commands.note_lorawan_route(device, app); });
  // [[devices.upstream]]: uplinks from other brokers (e.g. ChirpStack's), into the same sink.
  std::vector<std::unique_ptr<ingest::UpstreamBridge>> upstreams;
  for (const UpstreamEntry& u : opts.devices.upstream) {
    upstreams.push_back(std::make_unique<ingest::UpstreamBridge>(u, device_sink, pool.next(),
                                                                 net::ClientTlsOptions{opts.outgoing_tls.ca_file}));
  }
  pool.start();
  broker.start();
  commands.start();

  auto sink = [&broker](std::unique_ptr<net::Transport> t) { broker.accept(std::move(t)); };
  int failed = 0;
  for (auto& u : upstreams) {
    if (auto st = u->start(); !st.ok()) {
      ULOG_ERROR("{}", st.message());
      failed = 1;
    }
  }

  std::unique_ptr<net::TcpListener> mqtt_tcp;
  if (opts.mqtt.tcp.enabled) {
    mqtt_tcp = std::make_unique<net::TcpListener>(pool, "mqtt", [sink](asio::ip::tcp::socket s) {
      sink(std::make_unique<net::TcpTransport>(std::move(s)));
    });
    if (auto st = mqtt_tcp->start(opts.mqtt.tcp.host, opts.mqtt.tcp.port); !st.ok()) {
      ULOG_ERROR("{}", st.message());
      failed = 1;
    }
  }
  std::unique_ptr<net::TlsListener> mqtt_tls;
  if (!failed && opts.mqtt.tls.enabled) {
    auto ctx = net::make_server_tls_context(opts.mqtt.tls);
    if (!ctx.ok()) {
      ULOG_ERROR("mqtt.tls: {}", ctx.status().message());
      failed = 1;
    } else {
      mqtt_tls = std::make_unique<net::TlsListener>(pool, *ctx, sink);
      if (auto st = mqtt_tls->start(opts.mqtt.tls.host, opts.mqtt.tls.port); !st.ok()) {
        ULOG_ERROR("{}", st.message());
        failed = 1;
      }
    }
  }
  std::unique_ptr<storage::sqlite::SqliteSubscriptionStore> subscriptions;
  std::unique_ptr<ngsild::Service> ngsi;
  if (!failed && opts.http.listener.enabled && opts.ngsild.enabled) {
    auto subs = storage::sqlite::SqliteSubscriptionStore::open(
        (data / storage::sqlite::SqliteSubscriptionStore::kFileName).string(), sync);
    if (!subs.ok()) {
      ULOG_ERROR("cannot open subscriptions: {}", subs.status().message());
      failed = 1;
    } else {
      subscriptions = std::move(*subs);
      ngsild::ServiceDeps deps{.entities = entities->get(),
                               .history = history->get(),
                               .bus = &bus,
                               .clock = &clock,
                               .io = &pool.context(0),
                               .subscriptions = subscriptions.get(),
                               .notification_queue_path = (data / "notifications.db").string(),
                               .notification_ca_file = opts.outgoing_tls.ca_file};
      ngsi = std::make_unique<ngsild::Service>(opts.ngsild, std::move(deps));
      if (auto st = ngsi->start(); !st.ok()) {
        ULOG_ERROR("ngsild: {}", st.message());
        failed = 1;
      }
    }
  }
  std::unique_ptr<http::HttpServer> http_server;
  if (!failed && opts.http.listener.enabled) {
    auto router = std::make_shared<http::Router>();
    http::CoreRouteOptions core;
    core.mqtt_websocket = opts.mqtt.websocket;
    core.health = [&broker, &store, &entities, &history, &ingest_sink, &device_store, &command_store, &device_sink,
                   &upstreams]() {
      boost::json::object o;
      boost::json::object stores;
      bool degraded = false;
      auto report = [&](const char* name, const Status& h) {
        stores[name] = h.ok() ? "ok" : h.message();
        degraded = degraded || !h.ok();
      };
      report("broker", (*store)->health());
      report("state", (*entities)->health());
      report("history", (*history)->health());
      report("devices", (*device_store)->health());
      report("commands", (*command_store)->health());
      o["stores"] = std::move(stores);
      if (degraded) o["status"] = "degraded";
      if (ingest_sink) {
        boost::json::object in;
        in["accepted"] = ingest_sink->accepted();
        in["rejected"] = ingest_sink->rejected();
        o["ingest"] = std::move(in);
      }
      {
        auto ds = device_sink.stats();
        boost::json::object dv;
        dv["accepted"] = ds.accepted;
        dv["rejected"] = ds.rejected;
        dv["empty"] = ds.empty;
        dv["lorawan_alerts"] = ds.lorawan_alerts;
        o["device_ingest"] = std::move(dv);
      }
      if (!upstreams.empty()) {
        boost::json::array ups;
        for (const auto& u : upstreams) {
          auto s = u->stats();
          ups.push_back({{"url", u->url()},
                         {"client_id", u->client_id()},
                         {"connected", s.connected},
                         {"received", s.received},
                         {"stored", s.stored},
                         {"refused", s.refused},
                         {"failed", s.failed},
                         {"reconnects", s.reconnects}});
        }
        o["upstream"] = std::move(ups);
      }
      boost::json::object m;
      m["clients_connected"] = broker.clients_connected();
      m["sessions"] = broker.sessions();
      m["subscriptions"] = broker.subscription_count();
      m["retained"] = broker.retained_count();
      m["messages_received"] = broker.stats().get(mqtt::Stat::kMessagesReceived);
      m["messages_sent"] = broker.stats().get(mqtt::Stat::kMessagesSent);
      o["mqtt"] = std::move(m);
      return o;
    };
    Status st = http::register_core_routes(*router, clock, core);
    if (st.ok()) st = http::register_data_routes(*router, **entities, **history);
    if (st.ok() && ngsi) st = ngsi->register_routes(*router);
    if (st.ok()) st = http::register_device_routes(*router, registry, opts.http.admin_token);
    if (st.ok()) st = http::register_command_routes(*router, registry, commands, opts.http.admin_token);
    if (st.ok()) st = http::register_device_ingest_routes(*router, registry, device_sink);
    if (st.ok()) st = http::register_profile_routes(*router, profiles, opts.http.admin_token);
    if (!st.ok()) {
      ULOG_ERROR("http routes: {}", st.message());
      failed = 1;
    } else {
      http_server = std::make_unique<http::HttpServer>([&pool]() -> asio::io_context& { return pool.next(); },
                                                       opts.http, router,
                                                       opts.mqtt.websocket ? net::TransportSink(sink) : nullptr);
      if (auto st = http_server->start(); !st.ok()) {
        ULOG_ERROR("{}", st.message());
        failed = 1;
      }
    }
  }

  if (!failed) {
    ULOG_INFO("urbis ready");
    // Signals are waited for on the main thread, away from the I/O threads.
    asio::io_context sig_ctx(1);
    asio::signal_set signals(sig_ctx, SIGTERM, SIGINT, SIGHUP);
    bool stop_requested = false;
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
          if (ec) return;
          if (sig == SIGHUP) {
            std::string profiles_dir = opts.devices.profiles_dir;
            if (flags.config_file.empty()) {
              ULOG_INFO("SIGHUP: no configuration file to reload");
            } else {
              auto reloaded = resolve_options(flags);
              if (!reloaded.ok()) {
                ULOG_ERROR("SIGHUP: configuration not reloaded: {}", reloaded.status().message());
              } else {
                // Listeners, data dir and threads need a restart; limits, users and ACL do not.
                auth.update(reloaded->mqtt);  // first: the broker re-checks subscriptions against it
                broker.update_options(reloaded->mqtt);
                log::set_level(reloaded->log_level);
                ULOG_INFO("SIGHUP: configuration reloaded (limits, users, ACL, log level)");
                profiles_dir = reloaded->devices.profiles_dir;
              }
            }
            // Device profiles: a set that does not load leaves the previous one in place.
            if (auto st = profiles.load(profiles_dir); !st.ok()) {
              ULOG_ERROR("SIGHUP: device profiles not reloaded: {}", st.message());
            } else {
              ULOG_INFO("SIGHUP: {} device profiles loaded", profiles.all().size());
            }
            signals.async_wait(on_signal);
            return;
          }
          ULOG_INFO("signal {}: shutting down", sig);
          stop_requested = true;
        };
    signals.async_wait(on_signal);
    while (!stop_requested && sig_ctx.run_one() > 0) {
    }
  }

  // Graceful shutdown: stop accepting, disconnect clients, flush state.
  if (mqtt_tcp) mqtt_tcp->stop();
  if (mqtt_tls) mqtt_tls->stop();
  if (http_server) http_server->stop();
  if (ngsi) ngsi->stop();
  for (auto& u : upstreams) u->stop();  // before the broker: nothing new is ingested after this
  commands.stop();
  broker.shutdown();
  pool.stop_and_join();
  for (Status st : {(*store)->flush(), (*entities)->flush(), (*history)->flush(), registry.flush(), commands.flush()}) {
    if (!st.ok()) {
      ULOG_ERROR("final flush failed: {}", st.message());
      return 1;
    }
  }
  ULOG_INFO("urbis stopped");
  return failed;
}

}  // namespace urbis::app
