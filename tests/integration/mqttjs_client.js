// An MQTT.js client driven by harness.py: one JSON command per stdin line,
// one JSON event per stdout line.  Commands:
//   {op:"connect", url, options}             -> {ev:"connect", connack} | {ev:"error"}
//   {op:"subscribe", id, topic, options}     -> {ev:"suback", id, granted, error}
//   {op:"publish", id, topic, payload, options} -> {ev:"published", id, error}
//   {op:"end"}                               -> {ev:"ended"}
// Unsolicited: {ev:"message", topic, payload, qos, retain, dup, properties},
//   {ev:"disconnect", reasonCode}, {ev:"close"}, {ev:"offline"}, {ev:"error", message}.
// Binary property values (correlationData) travel as UTF-8 strings.
'use strict';
const mqtt = require('mqtt');
const readline = require('readline');

let client = null;

function out(obj) {
  process.stdout.write(JSON.stringify(obj, (k, v) => {
    if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data).toString('utf8');
    return v;
  }) + '\n');
}

function fixProps(props) {
  if (!props) return props;
  const p = Object.assign({}, props);
  if (typeof p.correlationData === 'string') p.correlationData = Buffer.from(p.correlationData);
  return p;
}

function handle(cmd) {
  switch (cmd.op) {
    case 'connect': {
      const opts = Object.assign({}, cmd.options);
      if (opts.properties) opts.properties = fixProps(opts.properties);
      if (opts.will && opts.will.properties) opts.will.properties = fixProps(opts.will.properties);
      client = mqtt.connect(cmd.url, opts);
      client.on('connect', (connack) => out({ev: 'connect', connack}));
      client.on('message', (topic, payload, packet) => out({
        ev: 'message', topic, payload: payload.toString('utf8'), qos: packet.qos,
        retain: packet.retain, dup: packet.dup, properties: packet.properties || {}}));
      client.on('disconnect', (packet) => out({ev: 'disconnect', reasonCode: packet.reasonCode,
        properties: packet.properties || {}}));
      client.on('close', () => out({ev: 'close'}));
      client.on('offline', () => out({ev: 'offline'}));
      client.on('error', (err) => out({ev: 'error', message: String(err && err.message), code: err && err.code}));
      break;
    }
    case 'subscribe': {
      const opts = Object.assign({}, cmd.options);
      client.subscribe(cmd.topic, opts, (err, granted) => out({
        ev: 'suback', id: cmd.id, error: err ? String(err.message || err) : null, granted}));
      break;
    }
    case 'publish': {
      const opts = Object.assign({}, cmd.options);
      if (opts.properties) opts.properties = fixProps(opts.properties);
      client.publish(cmd.topic, cmd.payload, opts, (err) => out({
        ev: 'published', id: cmd.id, error: err ? String(err.message || err) : null}));
      break;
    }
    case 'end':
      client.end(false, {}, () => out({ev: 'ended'}));
      break;
    default:
      out({ev: 'error', message: 'unknown op ' + cmd.op});
  }
}

const rl = readline.createInterface({input: process.stdin});
rl.on('line', (line) => {
  if (!line.trim()) return;
  try {
    handle(JSON.parse(line));
  } catch (e) {
    out({ev: 'error', message: 'harness command failed: ' + e.message});
  }
});
rl.on('close', () => {
  if (client) client.end(true, {}, () => process.exit(0));
  else process.exit(0);
  setTimeout(() => process.exit(0), 1000);
});
