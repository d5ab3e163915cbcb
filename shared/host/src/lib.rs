//! The composition root: what every host calls to build trickle.
//!
//! A host (a Lambda function, `trickle dev`, the test harness) reads its [`Settings`] once,
//! builds the adapters behind the ports (AWS SDK clients in [`lambda`], the embedded stand-ins
//! in [`embedded`]), and hands both to [`build`], which wires the router and the table of
//! queue consumers the same way everywhere.

pub mod root;
pub mod settings;

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "aws")]
pub mod lambda;
#[cfg(feature = "aws")]
pub mod sqs_batch;

pub use root::{build, BuildError, Consumer, Extras, Trickle};
pub use settings::{Secret, Settings, SettingsError};
