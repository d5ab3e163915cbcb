use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use trickle_app::ports::blobs::{BlobError, Blobs};
use trickle_app::queues;
use trickle_app::queues::{QueueMessage, UploadsMessage};

use crate::fixtures::Fixture;

type F = Fixture<dyn Blobs>;

pub async fn put_get_and_stream_give_the_same_bytes(f: &F) {
    let b = &f.port;
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    b.put("media/AC1/0.jpg", Bytes::from(body.clone()), "image/jpeg")
        .await
        .unwrap();
    assert_eq!(b.get("media/AC1/0.jpg").await.unwrap().unwrap(), body);
    let mut reader = b.open("media/AC1/0.jpg").await.unwrap().unwrap();
    let mut streamed = Vec::new();
    reader.read_to_end(&mut streamed).await.unwrap();
    assert_eq!(streamed, body);
    assert!(b.get("media/missing").await.unwrap().is_none());
    assert!(b.open("media/missing").await.unwrap().is_none());
}

/// Resuming a long read (an import chunk) starts at a byte offset.
pub async fn open_from_starts_at_the_offset(f: &F) {
    let b = &f.port;
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    b.put(
        "media/AC1/big.bin",
        Bytes::from(body.clone()),
        "application/octet-stream",
    )
    .await
    .unwrap();
    for offset in [0u64, 1, 65_537, 99_999] {
        let mut reader = b
            .open_from("media/AC1/big.bin", offset)
            .await
            .unwrap()
            .unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, body[offset as usize..], "offset {offset}");
    }
    assert!(b.open_from("media/missing", 5).await.unwrap().is_none());
}

pub async fn list_returns_exactly_the_prefix_in_key_order(f: &F) {
    let b = &f.port;
    for key in [
        "media/b/2",
        "media/a/1",
        "media/a/10",
        "mediaX/1",
        "other/1",
    ] {
        b.put(key, Bytes::from_static(b"abc"), "text/plain")
            .await
            .unwrap();
    }
    let keys: Vec<String> = b
        .list("media/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["media/a/1", "media/a/10", "media/b/2"]);
    let under_a = b.list("media/a/1").await.unwrap();
    assert_eq!(under_a.len(), 2);
    assert_eq!(under_a[0].size, 3);
    assert!(b.list("nothing/").await.unwrap().is_empty());
}

pub async fn bad_keys_are_refused(f: &F) {
    let b = &f.port;
    for key in ["", "../etc/passwd", "/abs", "a//b"] {
        assert!(
            matches!(
                b.put(key, Bytes::new(), "text/plain").await,
                Err(BlobError::InvalidKey(_))
            ),
            "{key:?}"
        );
    }
}

pub async fn a_presigned_upload_stores_the_body(f: &F) {
    let b = &f.port;
    let upload = b
        .presign_put(
            "imports/presigned list.csv",
            "text/csv",
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    assert_eq!(upload.method, "PUT");
    assert!(upload.expires_at > chrono::Utc::now());
    let client = reqwest::Client::new();
    let mut request = client
        .put(&upload.url)
        .body("first_name,phone\nAna,2125550134\n");
    for (name, value) in &upload.headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "upload answered {}",
        response.status()
    );
    assert_eq!(
        b.get("imports/presigned list.csv").await.unwrap().unwrap(),
        Bytes::from_static(b"first_name,phone\nAna,2125550134\n")
    );
}

pub async fn new_imports_are_announced_on_the_uploads_queue(f: &F) {
    let b = &f.port;
    let queue = f
        .notifications
        .as_ref()
        .expect("blob fixtures carry their notification queue");
    b.put(
        "media/not-announced.jpg",
        Bytes::from_static(b"x"),
        "image/jpeg",
    )
    .await
    .unwrap();
    b.put(
        "imports/José list+1.csv",
        Bytes::from_static(b"a,b\n1,2\n"),
        "text/csv",
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut created = Vec::new();
    while Instant::now() < deadline && created.is_empty() {
        for m in queue
            .receive(
                queues::UPLOADS,
                10,
                Duration::from_secs(30),
                Duration::from_secs(1),
            )
            .await
            .unwrap()
        {
            if let UploadsMessage::Uploaded(objects) = UploadsMessage::decode(&m.body).unwrap() {
                created.extend(objects);
            }
            queue.delete(queues::UPLOADS, &m.receipt).await.unwrap();
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].key, "imports/José list+1.csv");
    assert_eq!(created[0].size, 8);
    assert!(!created[0].bucket.is_empty());
}
