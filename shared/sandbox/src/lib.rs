//! Simulators of the outside providers, as their public API documentation describes them: HTTP
//! servers on a loopback port, used by the tests and by `trickle dev` in sandbox mode.

pub mod numverify;
pub mod openphone;
