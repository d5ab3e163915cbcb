use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use trickle_app::ports::blobs::{BlobError, Blobs, Revision};
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

/// The objects announced on the uploads queue, waiting up to 10 s for `count` of them.
async fn announced(f: &F, count: usize) -> Vec<trickle_app::queues::ObjectCreated> {
    let queue = f.notifications.as_ref().expect("a notification queue");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut objects: Vec<trickle_app::queues::ObjectCreated> = Vec::new();
    while Instant::now() < deadline && objects.len() < count {
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
            if let UploadsMessage::Uploaded(batch) = UploadsMessage::decode(&m.body).unwrap() {
                objects.extend(batch);
            }
            queue.delete(queues::UPLOADS, &m.receipt).await.unwrap();
        }
    }
    objects
}

async fn read_all(reader: Option<trickle_app::ports::blobs::BlobReader>) -> Option<String> {
    let mut text = String::new();
    reader?.read_to_string(&mut text).await.unwrap();
    Some(text)
}

/// An upload URL used twice cannot swap the file under an import: a read of the revision the
/// notification named gets that revision's bytes from any offset (a store that names a version),
/// or nothing (a store that names only an ETag) — never the bytes written after.
pub async fn the_announced_version_is_read_whatever_is_written_after(f: &F) {
    let b = &f.port;
    let key = "imports/pinned.csv";
    b.put(key, Bytes::from_static(b"phone\n2125550101\n"), "text/csv")
        .await
        .unwrap();
    let first = announced(f, 1).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let (version, etag) = (first[0].version.clone(), first[0].etag.clone());
    let pin = match (&version, &etag) {
        (Some(id), _) => Revision::Version(id),
        (None, Some(tag)) => Revision::ETag(tag),
        (None, None) => panic!("the notification names neither a version nor an ETag"),
    };
    // Before another write, the pinned read is the object.
    let pinned = read_all(b.open_version(key, 6, pin).await.unwrap()).await;
    assert_eq!(pinned.as_deref(), Some("2125550101\n"));
    b.put(key, Bytes::from_static(b"phone\n9999999999\n"), "text/csv")
        .await
        .unwrap();
    assert_eq!(announced(f, 1).await.len(), 1);
    let after = read_all(b.open_version(key, 0, pin).await.unwrap()).await;
    match pin {
        Revision::Version(_) => assert_eq!(after.as_deref(), Some("phone\n2125550101\n")),
        _ => assert_eq!(after, None, "an ETag the object lost reads as missing"),
    }
    let newest = read_all(b.open_version(key, 0, Revision::Latest).await.unwrap()).await;
    assert_eq!(newest.as_deref(), Some("phone\n9999999999\n"));
    let absent = b
        .open_version(
            key,
            0,
            Revision::Version("01890000-0000-7000-8000-000000000000"),
        )
        .await
        .unwrap();
    assert!(absent.is_none());
}

pub async fn new_imports_are_announced_on_the_uploads_queue(f: &F) {
    let b = &f.port;
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
    let created = announced(f, 1).await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].key, "imports/José list+1.csv");
    assert_eq!(created[0].size, 8);
    assert!(!created[0].bucket.is_empty());
}
