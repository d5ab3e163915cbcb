//! The `Blobs` contract, run unchanged against the embedded file store (behind the local
//! runner's upload route) and S3 on moto (with S3 → SQS notifications).

use trickle_tests::contract::blobs as suite;
use trickle_tests::contract_cases;

macro_rules! blobs_contract {
    ($make:path) => {
        contract_cases!(
            suite,
            $make,
            [
                put_get_and_stream_give_the_same_bytes,
                open_from_starts_at_the_offset,
                list_returns_exactly_the_prefix_in_key_order,
                bad_keys_are_refused,
                a_presigned_upload_stores_the_body,
                new_imports_are_announced_on_the_uploads_queue,
                the_announced_version_is_read_whatever_is_written_after,
            ]
        );
    };
}

mod embedded {
    use super::*;
    blobs_contract!(trickle_tests::fixtures::embedded_blobs);

    /// Only the local runner checks upload signatures itself (S3 does in AWS; moto does not).
    #[tokio::test]
    async fn a_tampered_or_expired_upload_url_is_refused() {
        let f = trickle_tests::fixtures::embedded_blobs().await;
        let upload = f
            .port
            .presign_put(
                "imports/a.csv",
                "text/csv",
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let put = |url: String| {
            client
                .put(url)
                .header("content-type", "text/csv")
                .body("x")
                .send()
        };
        let tampered = upload.url.replace("imports/a.csv", "imports/b.csv");
        assert_eq!(put(tampered).await.unwrap().status(), 403);
        let wrong_type = client
            .put(&upload.url)
            .header("content-type", "text/plain")
            .body("x");
        assert_eq!(wrong_type.send().await.unwrap().status(), 403);
        let expired = upload.url.replace("expires=", "expires=1");
        assert_eq!(put(expired).await.unwrap().status(), 403);
        assert!(f.port.get("imports/b.csv").await.unwrap().is_none());
        assert_eq!(put(upload.url.clone()).await.unwrap().status(), 200);
    }
}

mod s3_on_moto {
    use super::*;
    blobs_contract!(trickle_tests::fixtures::s3_blobs);
}
