//! The import's messages: its own steps on the `uploads` queue (parse a chunk, finish a chunk,
//! requeue after a resume) and the batches of numbers on the `validate` queue. Every step is
//! addressed by import id; its checkpoint lives on the import record, so a duplicate is harmless.

use super::AudienceError;
use crate::ports::queue::OutgoingMessage;
use crate::queues::{self, NumberBatch, QueueMessage, Step, StepMessage, UploadsMessage};
use crate::Services;

/// Numbers per validation message.
pub const NUMBERS_PER_BATCH: usize = 25;

pub async fn send_step(
    services: &Services,
    step: Step,
    import_id: &str,
    dedup: &str,
) -> Result<(), AudienceError> {
    let body = UploadsMessage::Step(StepMessage {
        step,
        import_id: import_id.to_string(),
    })
    .encode();
    services
        .queue
        .send(
            queues::UPLOADS,
            OutgoingMessage::new(body).dedup(format!("{import_id}-{step:?}-{dedup}")),
        )
        .await?;
    Ok(())
}

pub async fn send_batch(
    services: &Services,
    import_id: &str,
    numbers: &[String],
) -> Result<(), AudienceError> {
    let body = NumberBatch {
        import_id: import_id.to_string(),
        numbers: numbers.to_vec(),
    }
    .encode();
    services
        .queue
        .send(queues::VALIDATE, OutgoingMessage::new(body))
        .await?;
    Ok(())
}
