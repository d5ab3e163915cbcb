//! One fresh adapter per test, on isolated state, for each port and each host.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use trickle_app::ports::table::Index;
use trickle_app::ports::{Blobs, Mailer, Queue, Table};
use trickle_app::Services;
use trickle_aws::{clients, DynamoTable, S3Blobs, SesMailer, SqsQueue};
use trickle_domain::SystemClock;
use trickle_embedded::{EmbeddedQueue, EmbeddedStore, EmbeddedTable, OutboxMailer, QueueSettings};

use crate::moto;

/// The queues the queue contract uses, and how many receives each allows before its DLQ.
pub const CONTRACT_QUEUES: [&str; 2] = ["work", "other"];
pub const CONTRACT_MAX_RECEIVES: u32 = 3;

/// A port under test plus whatever must live as long as it (temp dirs, servers).
pub struct Fixture<T: ?Sized> {
    pub port: Arc<T>,
    /// Object-created notifications (blob fixtures only).
    pub notifications: Option<Arc<dyn Queue>>,
    /// The outbox folder (embedded mailer only).
    pub outbox: Option<std::path::PathBuf>,
    _keep: Vec<Box<dyn Any + Send + Sync>>,
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

// ---- embedded ----

pub async fn embedded_table() -> Fixture<dyn Table> {
    let dir = temp_dir();
    let store = EmbeddedStore::open(dir.path().join("t.db")).expect("store");
    Fixture {
        port: Arc::new(EmbeddedTable::new(store)),
        notifications: None,
        outbox: None,
        _keep: vec![Box::new(dir)],
    }
}

pub async fn embedded_queue() -> Fixture<dyn Queue> {
    let dir = temp_dir();
    let store = EmbeddedStore::open(dir.path().join("q.db")).expect("store");
    let settings = QueueSettings::with_queues(&CONTRACT_QUEUES, CONTRACT_MAX_RECEIVES);
    Fixture {
        port: Arc::new(EmbeddedQueue::new(store, settings)),
        notifications: None,
        outbox: None,
        _keep: vec![Box::new(dir)],
    }
}

/// Embedded blobs behind a real local runner router, so pre-signed URLs can be used.
pub async fn embedded_blobs() -> Fixture<dyn Blobs> {
    let dir = temp_dir();
    let (services, server) = crate::app::spawn_embedded(dir.path(), "token").await;
    Fixture {
        port: services.blobs.clone(),
        notifications: Some(services.queue.clone()),
        outbox: None,
        _keep: vec![Box::new(dir), Box::new(server)],
    }
}

pub async fn embedded_mailer() -> Fixture<dyn Mailer> {
    let dir = temp_dir();
    let mailer = OutboxMailer::open(dir.path()).expect("outbox");
    Fixture {
        outbox: Some(mailer.dir().to_path_buf()),
        port: Arc::new(mailer),
        notifications: None,
        _keep: vec![Box::new(dir)],
    }
}

/// The embedded services of a local runner rooted at `dir`.
pub fn embedded_services(dir: &std::path::Path, public_url: &str) -> Services {
    embedded_services_with(
        dir,
        public_url,
        Arc::new(trickle_app::ports::validator::NotConfigured),
    )
}

/// Embedded services with the given phone validator (e.g. a NumVerify client on the simulator).
pub fn embedded_services_with(
    dir: &std::path::Path,
    public_url: &str,
    validator: Arc<dyn trickle_app::ports::PhoneValidator>,
) -> Services {
    // The same adapters `trickle dev` opens, from the composition root.
    trickle_host::embedded::open(
        dir,
        public_url,
        Arc::new(trickle_providers::openphone::UnconfiguredProvider),
        validator,
        Arc::new(SystemClock),
    )
    .expect("embedded services")
    .services
}

// ---- AWS on moto ----

pub async fn create_dynamo_table(client: &clients::DynamoDb) -> String {
    let name = moto::unique("trickle-");
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let mut request = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range));
    for index in Index::ALL {
        request = request
            .attribute_definitions(attr(index.pk_attr()))
            .attribute_definitions(attr(index.sk_attr()))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name())
                    .key_schema(key(index.pk_attr(), KeyType::Hash))
                    .key_schema(key(index.sk_attr(), KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
    }
    request.send().await.expect("create table on moto");
    name
}

pub async fn dynamo_table() -> Fixture<dyn Table> {
    let config = moto::sdk_config().await;
    let client = clients::DynamoDb::new(&config);
    let name = create_dynamo_table(&client).await;
    Fixture {
        port: Arc::new(DynamoTable::new(client, name)),
        notifications: None,
        outbox: None,
        _keep: vec![],
    }
}

/// Creates `<prefix><name>` with a dead-letter queue `<prefix><name>-dlq`; returns the ARN.
pub async fn create_sqs_queue(
    client: &clients::Sqs,
    prefix: &str,
    name: &str,
    max_receives: u32,
) -> String {
    let dlq = client
        .create_queue()
        .queue_name(format!("{prefix}{name}-dlq"))
        .send()
        .await
        .expect("create dlq");
    let dlq_arn = queue_arn(client, dlq.queue_url().unwrap()).await;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receives.to_string(),
    });
    let queue = client
        .create_queue()
        .queue_name(format!("{prefix}{name}"))
        .set_attributes(Some(HashMap::from([(
            QueueAttributeName::RedrivePolicy,
            redrive.to_string(),
        )])))
        .send()
        .await
        .expect("create queue");
    queue_arn(client, queue.queue_url().unwrap()).await
}

async fn queue_arn(client: &clients::Sqs, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn")
}

async fn sqs_queue_with(prefix: &str, queues: &[&str]) -> (SqsQueue, Vec<String>) {
    let config = moto::sdk_config().await;
    let sqs = clients::Sqs::new(&config);
    let dynamo = clients::DynamoDb::new(&config);
    let table = create_dynamo_table(&dynamo).await;
    let mut arns = Vec::new();
    for name in queues {
        arns.push(create_sqs_queue(&sqs, prefix, name, CONTRACT_MAX_RECEIVES).await);
    }
    let dedup: Arc<dyn Table> = Arc::new(DynamoTable::new(dynamo, table));
    (SqsQueue::new(sqs, prefix, dedup), arns)
}

/// Queues `names` (each with its DLQ) on moto under a fresh prefix: the client and the prefix,
/// from which a test builds SQS adapters over the same queues (one of them dying on purpose).
pub async fn sqs_queues(names: &[&str]) -> (clients::Sqs, String) {
    let config = moto::sdk_config().await;
    let sqs = clients::Sqs::new(&config);
    let prefix = moto::unique("t") + "-";
    for name in names {
        create_sqs_queue(&sqs, &prefix, name, CONTRACT_MAX_RECEIVES).await;
    }
    (sqs, prefix)
}

pub async fn sqs_queue() -> Fixture<dyn Queue> {
    let prefix = moto::unique("t") + "-";
    let (queue, _) = sqs_queue_with(&prefix, &CONTRACT_QUEUES).await;
    Fixture {
        port: Arc::new(queue),
        notifications: None,
        outbox: None,
        _keep: vec![],
    }
}

/// A bucket whose `imports/` notifications go to an `uploads` queue, as `template.yaml` wires.
pub async fn s3_blobs() -> Fixture<dyn Blobs> {
    let config = moto::sdk_config().await;
    let s3 = clients::s3(&config);
    let bucket = moto::unique("trickle-");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    // Versioned, as template.yaml makes the bucket: an import reads the version it was told of.
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("bucket versioning");
    let prefix = moto::unique("t") + "-";
    let (queue, arns) = sqs_queue_with(&prefix, &["uploads"]).await;
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value("imports/")
                        .build(),
                )
                .build(),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(&arns[0])
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(filter)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("bucket notifications");
    Fixture {
        port: Arc::new(S3Blobs::new(s3, bucket)),
        notifications: Some(Arc::new(queue)),
        outbox: None,
        _keep: vec![],
    }
}

/// The verified sender domain on the emulator.
pub const SES_DOMAIN: &str = "trickle.test";

pub async fn ses_mailer() -> Fixture<dyn Mailer> {
    let config = moto::sdk_config().await;
    let ses = clients::SesV2::new(&config);
    ses.create_email_identity()
        .email_identity(SES_DOMAIN)
        .send()
        .await
        .expect("verify sender domain");
    Fixture {
        port: Arc::new(SesMailer::new(ses)),
        notifications: None,
        outbox: None,
        _keep: vec![],
    }
}
