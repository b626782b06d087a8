//! A Toxiproxy-compatible TCP fault proxy (issue 16): proxies with toxics
//! per stream, and Toxiproxy's HTTP API on its own listener.
