use std::sync::Arc;

use trickle_domain::Clock;

use crate::ports::{Blobs, Mailer, PhoneValidator, Queue, SmsProvider, Table};

/// The ports one host (a Lambda function or the local runner) builds once and lends to every
/// use-case.
#[derive(Clone)]
pub struct Services {
    pub table: Arc<dyn Table>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn Blobs>,
    pub mailer: Arc<dyn Mailer>,
    /// OpenPhone (or its simulator locally and in tests).
    pub sms: Arc<dyn SmsProvider>,
    pub clock: Arc<dyn Clock>,
    /// Phone validation (NumVerify); every imported number goes through it.
    pub validator: Arc<dyn PhoneValidator>,
}
