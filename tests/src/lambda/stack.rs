//! One stack's resources on moto, made from [`Template`]: the table (keys, indexes, TTL), every
//! queue with its dead-letter redrive, the data bucket (versioned, its upload notifications to
//! the uploads queue), the SSM secrets under `SecretsPrefix`, and the alert sender's SES identity.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    BucketVersioningStatus, Event, FilterRule, FilterRuleName, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_ssm::types::ParameterType;
use trickle_aws::clients::{self, SdkConfig};

use super::template::{Template, ACCOUNT, REGION};

pub struct Stack {
    pub template: Template,
    pub config: SdkConfig,
    pub sqs: clients::Sqs,
    pub s3: clients::S3,
    pub dynamo: clients::DynamoDb,
}

impl Stack {
    /// Creates everything `template` defines that the functions touch, with `secrets` (name
    /// after the prefix → value) as SecureString parameters.
    pub async fn create(template: Template, secrets: &[(&str, &str)]) -> Self {
        let config = crate::moto::sdk_config().await;
        let stack = Self {
            sqs: clients::Sqs::new(&config),
            s3: clients::s3(&config),
            dynamo: clients::DynamoDb::new(&config),
            config,
            template,
        };
        stack.create_table().await;
        stack.create_queues().await;
        stack.create_bucket().await;
        stack.put_secrets(secrets).await;
        // The alert sender must be a verified identity, as in AWS.
        let from = stack.template.parameter("AlertFromEmail").to_string();
        clients::SesV2::new(&stack.config)
            .create_email_identity()
            .email_identity(from)
            .send()
            .await
            .expect("verify the alert sender on moto");
        stack
    }

    async fn create_table(&self) {
        let spec = self.template.table();
        let element = |(name, kind): &(String, String)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .unwrap()
        };
        let mut request = self
            .dynamo
            .create_table()
            .table_name(&spec.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(spec.key_schema.iter().map(element).collect()));
        for (name, kind) in &spec.attributes {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .unwrap(),
            );
        }
        for (index, keys) in &spec.indexes {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index)
                    .set_key_schema(Some(keys.iter().map(element).collect()))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
        }
        request.send().await.expect("create the table on moto");
        if let Some(attribute) = spec.ttl_attribute {
            self.dynamo
                .update_time_to_live()
                .table_name(&spec.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("table TTL");
        }
    }

    async fn create_queues(&self) {
        let queues = self.template.queues();
        // Dead-letter queues first: a redrive policy names its target's ARN.
        let mut ordered: Vec<_> = queues.iter().filter(|q| q.redrive.is_none()).collect();
        ordered.extend(queues.iter().filter(|q| q.redrive.is_some()));
        for queue in ordered {
            let mut attributes = HashMap::from([(
                QueueAttributeName::VisibilityTimeout,
                queue.visibility_timeout.to_string(),
            )]);
            if let Some((target, max)) = &queue.redrive {
                let target = self.template.queue(target);
                attributes.insert(
                    QueueAttributeName::RedrivePolicy,
                    serde_json::json!({
                        "deadLetterTargetArn": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}", target.name),
                        "maxReceiveCount": max.to_string(),
                    })
                    .to_string(),
                );
            }
            self.sqs
                .create_queue()
                .queue_name(&queue.name)
                .set_attributes(Some(attributes))
                .send()
                .await
                .unwrap_or_else(|e| panic!("create queue {}: {e:?}", queue.name));
        }
    }

    async fn create_bucket(&self) {
        let spec = self.template.data_bucket();
        self.s3
            .create_bucket()
            .bucket(&spec.name)
            .send()
            .await
            .expect("create the data bucket on moto");
        if spec.versioned {
            self.s3
                .put_bucket_versioning()
                .bucket(&spec.name)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("bucket versioning");
        }
        let mut notifications = NotificationConfiguration::builder();
        for (event, queue, prefix) in &spec.queue_notifications {
            let queue = self.template.queue(queue);
            let mut config = QueueConfiguration::builder()
                .queue_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}", queue.name))
                .events(Event::from(event.as_str()));
            if let Some(prefix) = prefix {
                config = config.filter(
                    NotificationConfigurationFilter::builder()
                        .key(
                            S3KeyFilter::builder()
                                .filter_rules(
                                    FilterRule::builder()
                                        .name(FilterRuleName::Prefix)
                                        .value(prefix)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                );
            }
            notifications = notifications.queue_configurations(config.build().unwrap());
        }
        self.s3
            .put_bucket_notification_configuration()
            .bucket(&spec.name)
            .notification_configuration(notifications.build())
            .send()
            .await
            .expect("bucket notifications");
    }

    async fn put_secrets(&self, secrets: &[(&str, &str)]) {
        let ssm = clients::Ssm::new(&self.config);
        let prefix = self.template.secrets_prefix();
        for (name, value) in secrets {
            ssm.put_parameter()
                .name(format!("{prefix}/{name}"))
                .value(*value)
                .r#type(ParameterType::SecureString)
                .overwrite(true)
                .send()
                .await
                .unwrap_or_else(|e| panic!("put secret {name}: {e:?}"));
        }
    }

    pub fn queue_url(&self, logical_id: &str) -> String {
        let name = self.template.queue(logical_id).name;
        format!("{}/{ACCOUNT}/{name}", crate::moto::endpoint())
    }

    /// Messages waiting (visible or in flight) on a queue.
    pub async fn depth(&self, logical_id: &str) -> (u64, u64) {
        let answer = self
            .sqs
            .get_queue_attributes()
            .queue_url(self.queue_url(logical_id))
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes");
        let get = |name: QueueAttributeName| {
            answer
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (
            get(QueueAttributeName::ApproximateNumberOfMessages),
            get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }
}
