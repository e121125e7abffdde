//! `console-serial`: a terminal line (a serial console, IPMI SOL, a terminal
//! server, `virsh console`) driven expect-style — see [`session`].

pub mod line;
pub mod protocol;
pub mod screen;
pub mod session;

#[cfg(test)]
mod tests;
