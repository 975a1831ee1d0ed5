//! A TCP relay in front of an app that can be cut and restored: an outage, for the
//! tests of what accessboard does while an app is down and once it is back.

/// A TCP relay in front of an app that can be cut (connections dropped) and restored.
pub struct Relay {
    /// Its port on 127.0.0.1.
    pub port: u16,
    down: tokio::sync::watch::Sender<bool>,
    // Connections accepted, up or down: what the app would have seen.
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Relay {
    /// A relay to `target` (a port on 127.0.0.1), up.
    pub fn start(target: u16) -> Relay {
        let (down, rx) = tokio::sync::watch::channel(false);
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(l.local_addr().unwrap().port()).unwrap();
                loop {
                    let Ok((mut inbound, _)) = l.accept().await else {
                        continue;
                    };
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if *rx.borrow() {
                        continue; // dropped: the client sees the connection closed
                    }
                    let mut rx = rx.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) =
                            tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                        else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = rx.wait_for(|d| *d) => {}
                        }
                    });
                }
            });
        });
        Relay {
            port: port_rx.recv().unwrap(),
            down,
            accepted,
        }
    }

    /// Cuts the app off (`true`: new connections are dropped, open ones closed) or restores it.
    pub fn set_down(&self, d: bool) {
        self.down.send_replace(d);
    }

    /// `url` (the app's own) with the relay's port in place of the app's.
    pub fn url(&self, url: &str) -> String {
        url.replacen(&format!(":{}", port_of(url)), &format!(":{}", self.port), 1)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The port of `url` (`http://127.0.0.1:PORT/...`).
pub fn port_of(url: &str) -> u16 {
    let after = url.split("://").nth(1).unwrap_or(url);
    let host = after.split('/').next().unwrap_or(after);
    host.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in url")
}
