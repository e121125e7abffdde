//! inetd.conf and xinetd configuration: whether ssh is served by a super-server.
