//! The import's messages: its own steps on the `uploads` queue (parse a chunk, finish a chunk,
//! requeue after a resume) and the batches of numbers on the `validate` queue. Every step is
//! addressed by import id; its checkpoint lives on the import record, so a duplicate is harmless.

use serde::{Deserialize, Serialize};

use super::AudienceError;
use crate::ports::queue::OutgoingMessage;
use crate::queues;
use crate::Services;

/// Numbers per validation message.
pub const NUMBERS_PER_BATCH: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Parse,
    Finish,
    Requeue,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StepMessage {
    pub step: Step,
    pub import_id: String,
}

pub async fn send_step(
    services: &Services,
    step: Step,
    import_id: &str,
    dedup: &str,
) -> Result<(), AudienceError> {
    let body = serde_json::to_string(&StepMessage {
        step,
        import_id: import_id.to_string(),
    })?;
    services
        .queue
        .send(
            queues::UPLOADS,
            OutgoingMessage::new(body).dedup(format!("{import_id}-{step:?}-{dedup}")),
        )
        .await?;
    Ok(())
}

/// A `validate` queue message: distinct numbers of one import to look up.
#[derive(Debug, Serialize, Deserialize)]
pub struct NumberBatch {
    pub import_id: String,
    pub numbers: Vec<String>,
}

pub async fn send_batch(
    services: &Services,
    import_id: &str,
    numbers: &[String],
) -> Result<(), AudienceError> {
    let body = serde_json::to_string(&NumberBatch {
        import_id: import_id.to_string(),
        numbers: numbers.to_vec(),
    })?;
    services
        .queue
        .send(queues::VALIDATE, OutgoingMessage::new(body))
        .await?;
    Ok(())
}
