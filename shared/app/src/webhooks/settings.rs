//! What event processing needs to know about the deployment, shared by every event type's
//! handler (messages, opt-outs, calls).

#[derive(Debug, Clone)]
pub struct ProcessSettings {
    /// Named in every automatic reply (opt-out confirmation, help).
    pub business_name: String,
    /// Tries before an event is parked as `failed`.
    pub max_attempts: u32,
    /// The OpenPhone key's request budget: automatic replies (and their lookups) take a slot
    /// like every provider call. `None` only where no key is configured (tests).
    pub budget: Option<crate::rate::RateBudget>,
}

impl Default for ProcessSettings {
    fn default() -> Self {
        Self {
            business_name: "trickle".into(),
            max_attempts: 5,
            budget: None,
        }
    }
}
