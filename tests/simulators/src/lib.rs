//! In-process HTTP simulators of the outside services, following `shared/reference/*.md`.

pub mod numverify;
