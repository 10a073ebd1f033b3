//! A real browser: headless Chromium from Debian's packages, driven through chromedriver
//! (WebDriver, fantoccini), uses the page chatd serves and chats with a netcat user. A failing
//! run leaves a screenshot in `target/browser-failure.png`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::util::{Server, WAIT, free_port};

/// chromedriver on a port of its own, killed when dropped.
struct Driver(Child, u16);

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (make test installs Debian's chromium-driver)");
        Driver(child, port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=900,600",
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.1);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&url)
            .await;
        match connected {
            Ok(client) => return client,
            Err(e) if tokio::time::Instant::now() > deadline => {
                panic!("no WebDriver session: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Waits until the page's message list contains `text`.
async fn wait_for_log(page: &Client, text: &str) -> Result<(), String> {
    wait_for_count(page, text, 1).await
}

/// Waits until the page's message list contains `text` `times` times; fails if it shows more.
async fn wait_for_count(page: &Client, text: &str, times: usize) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = page
            .find(Locator::Id("log"))
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let count = log.matches(text).count();
        if count > times {
            return Err(format!("the page showed {text:?} {count} times:\n{log}"));
        }
        if count == times {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("the page never showed {text:?}; it shows:\n{log}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn type_into(page: &Client, id: &str, text: &str) -> Result<(), String> {
    let field = page
        .find(Locator::Id(id))
        .await
        .map_err(|e| e.to_string())?;
    field.clear().await.map_err(|e| e.to_string())?;
    field
        .send_keys(&format!("{text}\u{E007}"))
        .await
        .map_err(|e| e.to_string())
}

#[test]
fn a_browser_user_chats_with_a_netcat_user_and_survives_a_restart() {
    let server = Server::start("");
    let web = server.web_addr();
    let mut netcat = server.user("bob", "general");
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let page = browser(&driver).await;
        let outcome: Result<(), String> = async {
            page.goto(&format!("http://{web}/"))
                .await
                .map_err(|e| e.to_string())?;
            wait_for_log(&page, "connected to chatd").await?;
            type_into(&page, "nick", "webby").await?;
            wait_for_log(&page, "you are now known as webby").await?;
            type_into(&page, "room", "general").await?;
            wait_for_log(&page, "you joined #general").await?;
            type_into(&page, "message", "hello from chromium").await?;
            wait_for_log(&page, "<webby> hello from chromium").await?;
            Ok(())
        }
        .await;
        if outcome.is_ok() {
            netcat.expect("#general <webby> hello from chromium");
            // Text from others is shown as text, never as markup.
            netcat.send("<b>bold?</b> hi");
        }
        let outcome = match outcome {
            Ok(()) => wait_for_log(&page, "<bob> <b>bold?</b> hi").await,
            Err(e) => Err(e),
        };
        // The server restarts (as after a crash): the page reconnects, takes its nick back,
        // rejoins its room, and shows nothing twice.
        drop(netcat);
        let server = server.restart("");
        let outcome = match outcome {
            Ok(()) => wait_for_count(&page, "you joined #general", 2).await,
            Err(e) => Err(e),
        };
        let mut carol = server.user("carol", "general");
        carol.send("/users");
        let users = carol.expect("users (");
        let outcome = match outcome {
            Ok(()) if users.contains("webby") => {
                carol.send("after the restart");
                wait_for_log(&page, "<carol> after the restart").await
            }
            Ok(()) => Err(format!("webby is not back in #general: {users}")),
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(()) => wait_for_count(&page, "<webby> hello from chromium", 1).await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            if let Ok(png) = page.screenshot().await {
                let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/browser-failure.png");
                let _ = std::fs::write(path, png);
            }
            let _ = page.close().await;
            panic!("{e} (screenshot: target/browser-failure.png)");
        }
        let _ = page.close().await;
    });
}
