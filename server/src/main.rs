//! `fieldproof`: wires settings, logging and signals to the library; nothing else lives here.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldproof_core::config::Settings;
use fieldproof_core::service::audit;
use fieldproof_media_worker::decode::DecodeLimits;
use fieldproof_media_worker::inspect::{self, Against, SiteArg};
use fieldproof_media_worker::pipeline::Options;
use fieldproof_media_worker::verify::Tolerances;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Field inspection and rectification supervision with a photo-evidence pipeline.
#[derive(Debug, Parser)]
#[command(name = "fieldproof", version)]
struct Cli {
    /// A TOML file of settings; `FIELDPROOF_*` environment variables override it.
    #[arg(long, global = true, env = "FIELDPROOF_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (with the media worker unless `--no-worker`).
    Serve {
        /// Leave photo processing to separate `fieldproof worker` processes.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run only the media worker.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective settings (secrets masked) and exit.
    PrintConfig,
    /// Work with the tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print what the evidence pipeline reads from a photo and concludes, through the worker's
    /// own code; optionally write its thumbnails. Needs no database.
    InspectPhoto {
        /// The photo (JPEG, PNG, WebP or HEIC).
        file: PathBuf,
        /// The site to judge the location against: `LAT,LON[,DATUM[,RADIUS]]` (datum wgs84,
        /// gcj02 or bd09; radius in metres, 200 when absent). Without it, location is not judged.
        #[arg(long, allow_hyphen_values = true)]
        site: Option<SiteArg>,
        /// When the photo was filed, RFC 3339: the inspection day and "the future" are judged
        /// against it. Without it, the time window is not judged.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// The site's IANA time zone; the `timezone` setting when absent.
        #[arg(long)]
        timezone: Option<String>,
        /// Write the thumbnails into this directory, as `NAME-EDGE.jpg` (or `.webp`).
        #[arg(long)]
        thumbnails: Option<PathBuf>,
        /// Long edges of the thumbnails, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "256,1280", value_parser = clap::value_parser!(u32).range(8..=8192))]
        sizes: Vec<u32>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a made-up geotagged JPEG, for demos and smoke tests of a deployment.
    DemoPhoto {
        /// Latitude (WGS-84) written into the GPS tags.
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        /// Longitude (WGS-84) written into the GPS tags.
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        /// Capture time (RFC 3339); now when absent.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Where to write the JPEG.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Seal committed events, then check the whole hash chain against the checkpoint in object
    /// storage; prints the report as JSON and exits 1 when the chain is broken.
    Verify,
}

/// Errors end the process with one line on stderr (the chain of causes joined), never a
/// backtrace.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&anyhow::anyhow!("starting the runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr().lock(), "error: {error:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    init_logging(&settings.log_format);
    match cli.command {
        Command::PrintConfig => print_config(&settings),
        Command::DemoPhoto { lat, lon, at, out } => demo_photo(lat, lon, at, &out)?,
        Command::InspectPhoto {
            file,
            site,
            at,
            timezone,
            thumbnails,
            sizes,
            json,
        } => {
            let zone = match timezone {
                Some(name) => name
                    .parse::<chrono_tz::Tz>()
                    .map_err(|_| anyhow::anyhow!("--timezone: unknown time zone `{name}`"))?,
                None => settings.default_timezone()?,
            };
            let against = Against {
                site,
                at,
                zone,
                tolerances: Tolerances::from_settings(&settings),
            };
            inspect_photo(&settings, &file, &against, sizes, thumbnails.as_deref(), json)?;
        }
        Command::Migrate => {
            fieldproof_server::open_app(settings).await?;
            tracing::info!("migrations applied");
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let app = fieldproof_server::open_app(settings).await?;
            let report = audit::verify(&app).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let json = serde_json::to_string_pretty(&report).context("writing the report")?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{json}");
            if !report.chain.ok {
                std::process::exit(1);
            }
        }
        Command::Worker => {
            let app = fieldproof_server::open_app(settings).await?;
            fieldproof_server::work(app, shutdown_on_signal()).await;
        }
        Command::Serve { no_worker } => {
            let listen = settings.listen;
            let app = fieldproof_server::open_app(settings).await?;
            if let Some(password) = fieldproof_server::bootstrap_admin(&app).await? {
                announce_admin(&password);
            }
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            fieldproof_server::serve(app, listener, shutdown_on_signal(), !no_worker).await?;
        }
    }
    Ok(())
}

/// Shows the generated password exactly once; a closed stdout must not stop the server.
fn announce_admin(password: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Created user `admin` with password: {password}");
    let _ = writeln!(
        out,
        "It is shown only this once; set FIELDPROOF_ADMIN_PASSWORD to choose it yourself."
    );
    let _ = out.flush();
}

#[expect(
    clippy::print_stdout,
    reason = "print-config writes the settings for the operator"
)]
fn print_config(settings: &Settings) {
    println!("{settings:#?}");
    println!(
        "effective database: {}",
        if settings.database_url.is_some() {
            "(configured, masked)".to_owned()
        } else {
            settings.database_url()
        }
    );
    println!("effective storage: {}", settings.storage_url());
}

fn inspect_photo(
    settings: &Settings,
    file: &std::path::Path,
    against: &Against,
    edges: Vec<u32>,
    thumbnails: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<()> {
    let opened = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let kind = opened
        .metadata()
        .with_context(|| format!("reading {}", file.display()))?;
    anyhow::ensure!(kind.is_file(), "{} is not a regular file", file.display());
    // Read at most one byte past the limit, whatever size the file claims.
    let mut bytes = Vec::new();
    opened
        .take(settings.max_upload_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", file.display()))?;
    anyhow::ensure!(
        bytes.len() as u64 <= settings.max_upload_bytes,
        "{} is larger than max_upload_bytes ({})",
        file.display(),
        settings.max_upload_bytes
    );
    let options = Options {
        limits: DecodeLimits {
            max_pixels: settings.max_pixels,
            max_bytes: settings.max_decode_bytes,
        },
        edges,
        format: settings.thumbnail_format,
    };
    let (report, analysed) = inspect::inspect(&bytes, against, &options)
        .with_context(|| format!("{} cannot be processed", file.display()))?;
    if let Some(dir) = thumbnails {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let stem = file
            .file_stem()
            .map_or_else(|| "photo".into(), |s| s.to_string_lossy().into_owned());
        for thumbnail in &analysed.thumbnails {
            let path = dir.join(format!(
                "{stem}-{}.{}",
                thumbnail.edge,
                options.format.extension()
            ));
            std::fs::write(&path, &thumbnail.bytes).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let text = if json {
        serde_json::to_string_pretty(&report).context("writing the report")? + "\n"
    } else {
        report.to_text()
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    Ok(())
}

fn demo_photo(
    lat: f64,
    lon: f64,
    at: Option<chrono::DateTime<chrono::FixedOffset>>,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    fieldproof_core::geodesy::GeoPoint::new(lat, lon).context("--lat/--lon")?;
    let at = at.unwrap_or_else(|| chrono::Utc::now().fixed_offset());
    let exif = fieldproof_media_worker::synth::SynthExif {
        datetime_original: Some(at.format("%Y:%m:%d %H:%M:%S").to_string()),
        offset_time_original: Some(at.format("%:z").to_string()),
        gps: Some((lat, lon)),
        ..Default::default()
    };
    let bytes = fieldproof_media_worker::synth::jpeg(1600, 1200, &exif)?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    tracing::info!(path = %out.display(), "demo photo written");
    Ok(())
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Cancels on Ctrl-C or SIGTERM (what Kubernetes sends before killing a pod).
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    cancel.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}
