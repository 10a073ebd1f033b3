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
    wait_until(page, "log", |shown| match shown.matches(text).count() {
        n if n > times => Err(format!("the page showed {text:?} {n} times")),
        n => Ok(n == times),
    })
    .await
    .map_err(|e| format!("{e} (waiting for {text:?})"))
}

/// Waits until the text of element `id` passes `check` (`Ok(true)`); `Err` stops at once.
async fn wait_until(
    page: &Client,
    id: &str,
    check: impl Fn(&str) -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let shown = page
            .find(Locator::Id(id))
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        match check(&shown) {
            Ok(true) => return Ok(()),
            Err(e) => return Err(format!("#{id}: {e}; it shows:\n{shown}")),
            Ok(false) if tokio::time::Instant::now() > deadline => {
                return Err(format!("#{id} never got there; it shows:\n{shown}"));
            }
            Ok(false) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Ends a browser test: on failure, saves a screenshot and panics with `outcome`'s error.
async fn finish(page: Client, outcome: Result<(), String>) {
    if let Err(e) = outcome {
        if let Ok(png) = page.screenshot().await {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/browser-failure.png");
            let _ = std::fs::write(path, png);
        }
        let _ = page.close().await;
        panic!("{e} (screenshot: target/browser-failure.png)");
    }
    let _ = page.close().await;
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
        finish(page, outcome).await;
    });
}

/// Opens the page in the current tab and sets `nick` and joins #general.
async fn enter(page: &Client, web: &str, nick: &str) -> Result<(), String> {
    page.goto(&format!("http://{web}/"))
        .await
        .map_err(|e| e.to_string())?;
    wait_for_log(page, "connected to chatd").await?;
    type_into(page, "nick", nick).await?;
    wait_for_log(page, &format!("you are now known as {nick}")).await?;
    type_into(page, "room", "general").await?;
    wait_for_log(page, "you joined #general").await
}

async fn click(page: &Client, locator: Locator<'_>) -> Result<(), String> {
    page.find(locator)
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())
}

async fn displayed(page: &Client, id: &str) -> Result<bool, String> {
    page.find(Locator::Id(id))
        .await
        .map_err(|e| e.to_string())?
        .is_displayed()
        .await
        .map_err(|e| e.to_string())
}

#[test]
fn two_browsers_see_each_other_typing_talk_privately_and_fit_a_phone() {
    let server = Server::start("");
    let web = server.web_addr().to_string();
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let page = browser(&driver).await;
        let outcome: Result<(), String> = async {
            let ann = page.window().await.map_err(|e| e.to_string())?;
            enter(&page, &web, "ann").await?;
            let ben = page
                .new_window(true)
                .await
                .map_err(|e| e.to_string())?
                .handle;
            page.switch_to_window(ben.clone())
                .await
                .map_err(|e| e.to_string())?;
            enter(&page, &web, "ben").await?;
            // ben types without sending: ann's typing line names him.
            page.find(Locator::Id("message"))
                .await
                .map_err(|e| e.to_string())?
                .send_keys("hel")
                .await
                .map_err(|e| e.to_string())?;
            page.switch_to_window(ann.clone())
                .await
                .map_err(|e| e.to_string())?;
            wait_until(&page, "typing", |t| Ok(t.contains("ben is typing…"))).await?;
            // He sends: the message arrives and the typing line is empty again.
            page.switch_to_window(ben.clone())
                .await
                .map_err(|e| e.to_string())?;
            page.find(Locator::Id("message"))
                .await
                .map_err(|e| e.to_string())?
                .send_keys("lo ann\u{E007}")
                .await
                .map_err(|e| e.to_string())?;
            type_into(&page, "message", "/msg ann a secret").await?;
            page.switch_to_window(ann.clone())
                .await
                .map_err(|e| e.to_string())?;
            wait_for_log(&page, "<ben> hello ann").await?;
            wait_until(&page, "typing", |t| Ok(t.trim().is_empty())).await?;
            // The private message opened its own conversation, with one unread message.
            wait_until(&page, "conversations", |t| {
                Ok(t.contains("@ben") && t.contains('1'))
            })
            .await?;
            if page
                .find(Locator::Id("log"))
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?
                .contains("a secret")
            {
                return Err("the private message showed in #general".into());
            }
            click(&page, Locator::XPath("//nav//button[contains(., '@ben')]")).await?;
            wait_for_log(&page, "<ben> a secret").await?;
            wait_until(&page, "users", |t| Ok(!t.contains("ann"))).await?;
            // At phone width the conversations fold behind a button.
            page.set_window_size(380, 700)
                .await
                .map_err(|e| e.to_string())?;
            if displayed(&page, "side").await? || !displayed(&page, "menu").await? {
                return Err(
                    "at phone width the sidebar should fold behind the Rooms button".into(),
                );
            }
            click(&page, Locator::Id("menu")).await?;
            if !displayed(&page, "side").await? {
                return Err("the Rooms button did not open the sidebar".into());
            }
            click(
                &page,
                Locator::XPath("//nav//button[contains(., '#general')]"),
            )
            .await?;
            wait_for_log(&page, "<ben> hello ann").await?;
            if displayed(&page, "side").await? {
                return Err("picking a room did not fold the sidebar".into());
            }
            Ok(())
        }
        .await;
        finish(page, outcome).await;
    });
}

#[test]
fn a_browser_away_longer_than_the_replay_catches_up_from_the_stored_history() {
    let config = "[history]\nreplay = 5\n";
    let server = Server::start(config);
    let web = server.web_addr().to_string();
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let page = browser(&driver).await;
        let mut bob = server.user("bob", "general");
        let outcome = match enter(&page, &web, "webby").await {
            Ok(()) => {
                bob.send("before the outage");
                wait_for_log(&page, "<bob> before the outage").await
            }
            Err(e) => Err(e),
        };
        drop(bob);
        // Down long enough that the page's next try comes seconds after the server is back
        // (it backs off 0.5, 1, 2, 4 s): twenty messages go by meanwhile, four times the replay.
        let server = server.restart_after(config, Duration::from_secs(4));
        let mut carol = server.user("carol", "general");
        for i in 1..=20 {
            carol.send(&format!("while away {i}"));
        }
        carol.sync();
        let outcome = match outcome {
            Ok(()) => wait_for_count(&page, "<carol> while away 20", 1).await,
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(()) => {
                let log = page
                    .find(Locator::Id("log"))
                    .await
                    .map_err(|e| e.to_string());
                match log {
                    Ok(log) => log.text().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let outcome = outcome.and_then(|log| {
            let positions: Vec<Option<usize>> = (1..=20)
                .map(|i| {
                    log.find(&format!("<carol> while away {i}\n")).or_else(|| {
                        log.ends_with(&format!("<carol> while away {i}"))
                            .then_some(log.len())
                    })
                })
                .collect();
            if positions.iter().any(Option::is_none) {
                return Err(format!("not every message was shown:\n{log}"));
            }
            if !positions.windows(2).all(|w| w[0] < w[1]) {
                return Err(format!("the messages are out of order:\n{log}"));
            }
            if log.contains("missed") {
                return Err(format!(
                    "a gap was announced although the store had it all:\n{log}"
                ));
            }
            Ok(())
        });
        finish(page, outcome).await;
        drop(server);
    });
}
