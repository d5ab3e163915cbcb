//! The `Table` contract, run unchanged against the embedded store and DynamoDB on moto.

use trickle_tests::contract::table as suite;
use trickle_tests::contract_cases;

macro_rules! table_contract {
    ($make:path) => {
        contract_cases!(
            suite,
            $make,
            [
                put_then_get_round_trips_every_json_type,
                get_many_answers_in_order_across_batches,
                put_without_condition_replaces_the_whole_item,
                put_if_absent_refuses_the_second_writer,
                conditions_compare_like_dynamodb,
                update_sets_removes_adds_and_returns_the_new_item,
                update_with_a_failing_condition_changes_nothing,
                invalid_requests_are_refused,
                delete_honours_its_condition_and_absent_is_fine,
                query_filters_sort_keys_in_both_directions,
                query_pages_cover_everything_once_in_order,
                secondary_index_is_sparse_ordered_and_paged,
                transaction_is_all_or_nothing_and_names_the_failed_condition,
                transaction_refuses_one_key_twice,
                expired_items_are_invisible_and_count_as_absent,
                items_and_transactions_over_dynamodb_limits_are_refused,
            ]
        );
    };
}

mod embedded {
    use super::*;
    table_contract!(trickle_tests::fixtures::embedded_table);

    // Embedded only: moto's server checks conditions and writes without a lock, so it cannot
    // show atomicity under concurrency (DynamoDB guarantees it for single-item writes).
    contract_cases!(
        suite,
        trickle_tests::fixtures::embedded_table,
        [concurrent_conditional_writers_have_one_winner,]
    );
}

mod dynamodb_on_moto {
    use super::*;
    table_contract!(trickle_tests::fixtures::dynamo_table);
}
