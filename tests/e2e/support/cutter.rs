//! A TCP proxy that plays a bad mobile network: it forwards connections to a server and cuts
//! the first few that carry more than a given number of request bytes, mid-body.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; stopped when dropped.
pub struct Cutter {
    /// `http://127.0.0.1:PORT`, to use in place of the server's base URL.
    pub base: String,
    cuts_left: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Cutter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Cutter {
    /// Proxies to `upstream` (`http://host:port`); each of the first `cuts` connections whose
    /// request bytes pass `after` is closed right there.
    pub async fn start(upstream: &str, after: usize, cuts: usize) -> Cutter {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let cuts_left = Arc::new(AtomicUsize::new(cuts));
        let left = cuts_left.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, left) = (upstream.clone(), left.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        pipe(client, server, after, &left).await;
                    }
                });
            }
        });
        Cutter {
            base,
            cuts_left,
            task,
        }
    }

    /// How many cuts are still to come.
    pub fn cuts_left(&self) -> usize {
        self.cuts_left.load(Ordering::SeqCst)
    }
}

async fn pipe(client: TcpStream, server: TcpStream, after: usize, cuts_left: &AtomicUsize) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut sent = 0;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if sent + n > after
                && cuts_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                    .is_ok()
            {
                let _ = server_write.write_all(&buf[..after - sent]).await;
                return;
            }
            sent += n;
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    // Whichever side ends first ends the connection: both sockets are dropped.
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}
