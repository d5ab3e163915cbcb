//! Simulators of the outside providers, following `shared/reference/*.md`: HTTP servers on a
//! loopback port, used by the tests and by `trickle dev` in sandbox mode.

pub mod numverify;
pub mod openphone;
