//! A real S3-protocol server in the test process (s3s-fs, a file-system-backed
//! implementation of the S3 REST API), reached over loopback through `aws-sdk-s3`.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

/// Access key the test server accepts.
pub const ACCESS_KEY: &str = "fieldproof-test";
/// Secret key the test server accepts.
pub const SECRET_KEY: &str = "fieldproof-test-secret";

/// A running server; stopped when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
    _root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl S3Server {
    /// Starts a server with one empty bucket named `bucket`.
    pub async fn start(bucket: &str) -> S3Server {
        let root = tempfile::tempdir().expect("temp dir");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs root");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build().into_shared();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind S3 port");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        let server = S3Server {
            endpoint,
            task,
            _root: root,
        };
        server
            .client()
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create bucket");
        server
    }

    /// A client of this server, as an operator's tool would be.
    pub fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "test",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}
