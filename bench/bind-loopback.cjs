// Preload (NODE_OPTIONS="--require bench/bind-loopback.cjs") that forces every Node TCP
// listener onto 127.0.0.1: server-everything and mcp-hub call app.listen(PORT), which would
// otherwise bind every interface. From shared/notes/third-party-harness.md.
const net = require('net');
const orig = net.Server.prototype.listen;
const WILD = new Set(['0.0.0.0', '::', '', undefined, null, 'localhost']);
net.Server.prototype.listen = function (...args) {
  const a0 = args[0];
  const isPort = (v) => typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
  if (isPort(a0)) {
    if (typeof args[1] === 'string') { if (WILD.has(args[1])) args[1] = '127.0.0.1'; }
    else args.splice(1, 0, '127.0.0.1');
  } else if (a0 && typeof a0 === 'object' && !(a0 instanceof net.Server) && a0.path === undefined && a0.fd === undefined && a0.handle === undefined && !a0._handle) {
    if (WILD.has(a0.host)) args[0] = { ...a0, host: '127.0.0.1' };
  } else if (a0 === undefined || typeof a0 === 'function') {
    args.unshift(0, '127.0.0.1');
  }
  return orig.apply(this, args);
};
