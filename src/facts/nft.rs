//! nftables: parse `nft -j list ruleset` (and `nft -a list ruleset` for rule text) and evaluate the input hook for a new TCP connection.
