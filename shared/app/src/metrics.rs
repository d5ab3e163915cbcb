//! Operational metrics. In Lambda they are printed as CloudWatch Embedded Metric Format lines
//! (CloudWatch turns each into a metric with no API call); elsewhere they go to the log.
//!
//! The sink is process-wide, like the log subscriber: a host picks it once at start-up.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every trickle metric.
pub const NAMESPACE: &str = "trickle";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One observation: a named value with a few low-cardinality dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric<'a> {
    pub name: &'a str,
    pub value: f64,
    pub unit: Unit,
    pub dimensions: &'a [(&'a str, &'a str)],
}

impl<'a> Metric<'a> {
    pub fn count(name: &'a str, dimensions: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            name,
            value: 1.0,
            unit: Unit::Count,
            dimensions,
        }
    }

    pub fn millis(name: &'a str, value: i64, dimensions: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            name,
            value: value as f64,
            unit: Unit::Milliseconds,
            dimensions,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// A `tracing` event per metric (the default, and what `trickle dev` uses).
    Log,
    /// One EMF JSON line per metric on stdout (Lambda).
    EmfStdout,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Chooses where metrics go; the first choice in a process wins.
pub fn init(sink: Sink) {
    let _ = SINK.set(sink);
}

pub fn record(metric: Metric<'_>) {
    match SINK.get().copied().unwrap_or(Sink::Log) {
        Sink::Log => tracing::debug!(
            target: "trickle::metrics",
            metric = metric.name,
            value = metric.value,
            dimensions = ?metric.dimensions,
        ),
        Sink::EmfStdout => {
            println!(
                "{}",
                emf_line(&metric, chrono::Utc::now().timestamp_millis())
            )
        }
    }
}

/// The Embedded Metric Format document for one metric.
pub fn emf_line(metric: &Metric<'_>, timestamp_ms: i64) -> String {
    let mut doc = Map::new();
    let dimension_names: Vec<&str> = metric.dimensions.iter().map(|(k, _)| *k).collect();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimension_names],
                "Metrics": [{ "Name": metric.name, "Unit": metric.unit.as_str() }],
            }],
        }),
    );
    for (name, value) in metric.dimensions {
        doc.insert(name.to_string(), Value::from(*value));
    }
    doc.insert(metric.name.to_string(), json!(metric.value));
    Value::Object(doc).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metric_dimensions_and_value() {
        let line = emf_line(
            &Metric::millis("HealthCheckLatency", 840, &[("Check", "webhook")]),
            1_800_000_000_000,
        );
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_800_000_000_000i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "trickle");
        assert_eq!(directive["Dimensions"], json!([["Check"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "HealthCheckLatency", "Unit": "Milliseconds"}])
        );
        assert_eq!(doc["HealthCheckLatency"], 840.0);
        assert_eq!(doc["Check"], "webhook");
    }

    #[test]
    fn a_count_without_dimensions_has_one_empty_dimension_set() {
        let doc: Value =
            serde_json::from_str(&emf_line(&Metric::count("EventsParked", &[]), 0)).unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(doc["EventsParked"], 1.0);
    }
}
