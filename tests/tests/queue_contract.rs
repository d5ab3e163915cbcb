//! The `Queue` contract, run unchanged against the embedded queue and SQS on moto.

use trickle_tests::contract::queue as suite;
use trickle_tests::contract_cases;

macro_rules! queue_contract {
    ($make:path) => {
        contract_cases!(
            suite,
            $make,
            [
                a_sent_message_is_received_once_and_deleted,
                an_undeleted_message_comes_back_after_its_visibility_timeout,
                visibility_can_be_changed_to_release_a_message_now,
                a_delayed_message_waits_its_delay,
                a_repeated_dedup_id_is_dropped,
                a_message_moves_to_the_dead_letter_queue_after_its_receive_limit,
                batches_hold_up_to_ten_and_nothing_is_lost,
                bad_requests_and_unknown_queues_are_refused,
            ]
        );
    };
}

mod embedded {
    use super::*;
    queue_contract!(trickle_tests::fixtures::embedded_queue);
}

mod sqs_on_moto {
    use super::*;
    queue_contract!(trickle_tests::fixtures::sqs_queue);
}
