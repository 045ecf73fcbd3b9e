//! Section 6 of the proxy benchmark: start to `/readyz` and to N = 1, 10, 50 stdio
//! upstreams ready.

use std::time::Duration;

use anyhow::Result;
use serde_json::{Map, Value, json};

use crate::environment::Env;
use crate::report::{Report, Stats, r1};
use crate::under_test::Proxy;

pub(crate) async fn bench_start(env: &Env, rep: &mut Report) -> Result<()> {
    let mut out = Map::new();
    for n in [1usize, 10, 50] {
        let mut readyz = Vec::new();
        let mut all = Vec::new();
        for _ in 0..env.settings.start_reps {
            let servers: Vec<Value> = (0..n)
                .map(|i| env.fixture_stdio(&format!("fx{i}"), &[]))
                .collect();
            let mut proxy = Proxy::spawn(env, Value::Array(servers))?;
            readyz.push(proxy.wait_readyz().await?.as_secs_f64() * 1e3);
            all.push(
                proxy
                    .wait_servers_ready(n, Duration::from_secs(60))
                    .await?
                    .as_secs_f64()
                    * 1e3,
            );
            proxy.stop().await;
        }
        let (r, a) = (Stats::of(&readyz), Stats::of(&all));
        out.insert(n.to_string(), json!({"readyz_ms": readyz.iter().map(|x| r1(*x)).collect::<Vec<_>>(),
            "all_ready_ms": all.iter().map(|x| r1(*x)).collect::<Vec<_>>(), "readyz_median_ms": r1(r.p50), "all_ready_median_ms": r1(a.p50)}));
        rep.row(
            "6",
            &format!("start → /readyz, → {n} stdio upstreams ready"),
            format!("{:.1} ms, {:.1} ms", r.p50, a.p50),
            String::new(),
            String::new(),
            format!("median of {}", env.settings.start_reps),
        );
    }
    rep.json.insert("start".into(), Value::Object(out));
    Ok(())
}
