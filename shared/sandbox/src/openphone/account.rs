//! The account's numbers: the sending number and any extra ("internal") ones, by number or id.

use super::Shared;

/// The id of the account's `i`-th extra number (after the sending number).
pub(super) fn internal_number_id(i: usize) -> String {
    format!("PNinternal{i:02}")
}

impl Shared {
    /// The account's number given as a number or its id, as `(number, id)`; `None` for a
    /// number this account does not own.
    pub(super) fn owned(&self, number_or_id: &str) -> Option<(String, String)> {
        if number_or_id == self.config.phone_number || number_or_id == self.config.phone_number_id {
            return Some((
                self.config.phone_number.clone(),
                self.config.phone_number_id.clone(),
            ));
        }
        let state = self.state.lock().unwrap();
        state
            .internal_numbers
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), internal_number_id(i)))
            .find(|(n, id)| n == number_or_id || id == number_or_id)
    }
}
