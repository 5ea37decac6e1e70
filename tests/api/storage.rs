//! Attachments in an S3-compatible bucket when `PORTICO_STORAGE_URL` names one, on
//! both backends: the file goes to the bucket under the tenant's prefix (nothing in
//! the local folder) and comes back byte for byte. The bucket is a real
//! S3-compatible server on loopback (moto's server mode, set up by `tests/s3/setup.sh`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tenants::{Role, tokens};
use portico_tests::{Backend, TestEnv, free_port};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use rstest::rstest;
use secrecy::SecretString;

/// moto's server, stopped when dropped.
struct S3Server {
    child: Child,
    port: u16,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn s3_server() -> S3Server {
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server runs (tests/s3/setup.sh installs it)");
    let server = S3Server { child, port };
    let client = reqwest::Client::new();
    portico_tests::eventually(Duration::from_secs(20), "moto listening", || {
        let client = client.clone();
        async move {
            client
                .put(format!("http://127.0.0.1:{port}/portico-test"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        }
    })
    .await;
    server
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn attachments_live_in_the_bucket_when_one_is_configured(#[case] backend: Backend) {
    let s3 = s3_server().await;
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.storage_url = Some("s3://portico-test/files".to_owned());
    settings.storage_endpoint = Some(format!("http://127.0.0.1:{}", s3.port));
    settings.storage_region = Some("us-east-1".to_owned());
    settings.storage_access_key_id = Some("testing".to_owned());
    settings.storage_secret_access_key = Some(SecretString::from("testing"));
    settings.storage_allow_http = true;
    let app = env.spawn_with(settings, Default::default()).await;
    let tenant = app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse("tech@msp.example").expect("email"),
            display_name: String::new(),
            role: Role::Technician,
            invite: false,
            organization_id: None,
        },
    )
    .await
    .expect("technician");
    let token = tokens::create_personal_token(app.store(), "acme", "t", "tech@msp.example")
        .await
        .expect("token");
    let created: serde_json::Value = app
        .request(Method::POST, "acme.localhost", "/api/v1/tickets")
        .bearer_auth(&token)
        .json(
            &serde_json::json!({ "subject": "Screen", "requester_email": "ann@elsewhere.example" }),
        )
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let number = created["number"].as_i64().expect("number");
    let form = Form::new()
        .text("body", "Screenshot attached")
        .part("file", Part::bytes(PNG.to_vec()).file_name("screen.png"));
    let posted = app
        .request(
            Method::POST,
            "acme.localhost",
            &format!("/api/v1/tickets/{number}/messages"),
        )
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(posted.status().as_u16(), 201);
    let files: serde_json::Value = app
        .request(
            Method::GET,
            "acme.localhost",
            &format!("/api/v1/tickets/{number}/attachments"),
        )
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let id = files[0]["id"].as_i64().expect("an attachment");
    let download = app
        .request(
            Method::GET,
            "acme.localhost",
            &format!("/api/v1/tickets/{number}/attachments/{id}"),
        )
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), PNG);

    // The object is in the bucket, under the prefix and the tenant's own folder.
    let listing = reqwest::get(format!(
        "http://127.0.0.1:{}/portico-test?list-type=2",
        s3.port
    ))
    .await
    .expect("listed")
    .text()
    .await
    .expect("xml");
    let prefix = format!("<Key>files/t{}/attachments/", tenant.id.0);
    assert_eq!(listing.matches(&prefix).count(), 1, "{listing}");
    let local = env.data_dir().join("blobs");
    let stored_locally = std::fs::read_dir(&local)
        .map(|entries| entries.flatten().count())
        .unwrap_or(0);
    assert_eq!(stored_locally, 0, "nothing under {}", local.display());
    app.stop().await;
}
