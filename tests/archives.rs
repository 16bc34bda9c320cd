//! Archives in scanned files and commits: gzip, tar and zip recognised by content, opened in
//! memory, nested to a depth, and every limit against decompression bombs ending the scan with
//! exit 2 and a line that names the limit.

mod common;

use std::io::Write;

use common::{api_token, Repo};

/// A tar of `files` (name, content), as `cargo package` and `tar` write them.
fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Written raw, so that hostile names (`../x`) reach the archive as they are.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        builder.append(&header, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A zip of `files`, deflated.
fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A `.crate` (a gzipped tar under `NAME-VERSION/`) whose `.env` holds `token` on line 3,
/// column 7.
fn crate_with_env_token(token: &str) -> Vec<u8> {
    let env = format!("# local settings\nDEBUG=1\nTOKEN={token}\n");
    gzip(&tar(&[
        ("pkg-0.1.0/Cargo.toml", b"[package]\nname = \"pkg\"\n"),
        ("pkg-0.1.0/.env", env.as_bytes()),
    ]))
}

#[test]
fn a_token_in_a_crate_file_is_found_and_located_inside_it() {
    let repo = Repo::new();
    let token = api_token(2101);
    // Named .bin: the archive is recognised by its content, not by its name.
    repo.write("dist/pkg-0.1.0.bin", crate_with_env_token(&token));
    let location = "dist/pkg-0.1.0.bin!pkg-0.1.0/.env";
    repo.cio_hook(&["scan-path", "dist"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(&format!("{location}:3:7"));

    let json = repo.cio_hook(&["scan-path", "--format", "json", "dist"]);
    json.expect_code(1).expect_no_full_token(&[&token]);
    assert_eq!(
        common::json_findings(&json.stdout),
        [(location.to_string(), 3, String::new())]
    );

    let sarif = repo.cio_hook(&["scan-path", "--format", "sarif", "dist"]);
    sarif.expect_code(1).expect_no_full_token(&[&token]);
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    let found = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    // A URI reference: the separator percent-encoded, as every character but the unreserved.
    assert_eq!(
        found["artifactLocation"]["uri"],
        location.replace('!', "%21")
    );
    assert_eq!(found["region"]["startLine"], 3);
    assert_eq!(found["region"]["startColumn"], 7);
    assert!(common::sarif_schema_errors(&log).is_empty());
}

#[test]
fn nested_archives_are_opened_and_named_level_by_level() {
    let repo = Repo::new();
    let token = api_token(2102);
    let wheel = zip(&[(
        "pkg/settings.py",
        format!("TOKEN = \"{token}\"\n").as_bytes(),
    )]);
    let image = tar(&[("layer/app/pkg-1.0-py3-none-any.whl", &wheel)]);
    repo.write("image.tar", &image);
    repo.cio_hook(&["scan-path", "image.tar"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("image.tar!layer/app/pkg-1.0-py3-none-any.whl!pkg/settings.py:1:10");
    repo.cio_hook(&["scan-path", "--archive-max-depth", "1", "image.tar"])
        .expect_code(2)
        .expect_contains("nested deeper than 1")
        .expect_contains("--archive-max-depth");
}

#[test]
fn a_committed_archive_with_a_token_blocks_the_commit_and_shows_in_history() {
    let repo = Repo::new();
    repo.install_hooks();
    let token = api_token(2103);
    repo.write("vendor/pkg-0.1.0.crate", crate_with_env_token(&token));
    repo.git_ok(&["add", "."]);
    let run = repo.commit("vendor a crate", &[]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("vendor/pkg-0.1.0.crate!pkg-0.1.0/.env:3:7");
    assert_eq!(repo.commit_count(), 0);

    repo.commit("vendor a crate", &["--no-verify"])
        .expect_code(0);
    repo.cio_hook(&["scan-history"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("vendor/pkg-0.1.0.crate!pkg-0.1.0/.env:3:7");
}

#[test]
fn traversal_names_are_only_labels_and_never_written() {
    let repo = Repo::new();
    let token = api_token(2104);
    let content = format!("token = \"{token}\"\n");
    let hostile = tar(&[
        ("../../escaped.txt", content.as_bytes()),
        ("a\u{1b}[2Jb.txt", content.as_bytes()),
    ]);
    repo.write("hostile.tar", &hostile);
    let run = repo.cio_hook(&["scan-path", "hostile.tar"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("hostile.tar!../../escaped.txt:1:10")
        .expect_contains("hostile.tar!a\\u{1b}[2Jb.txt:1:10");
    assert!(
        !run.all().contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    assert!(!repo.path.join("../../escaped.txt").exists());
    assert!(!repo.sibling("escaped.txt").exists());
}

/// A gzip of `gib` GiB of zeros, built by repeating one sync-flushed deflate block of 1 MiB of
/// zeros (valid wherever it starts, since it only refers back to zeros), with the right CRC.
fn zeros_gzip(gib: u64) -> Vec<u8> {
    const MIB: usize = 1 << 20;
    let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
    let mut block = Vec::with_capacity(MIB);
    compress
        .compress_vec(&vec![0; MIB], &mut block, flate2::FlushCompress::Sync)
        .unwrap();
    let mut block_crc = crc32fast::Hasher::new();
    block_crc.update(&vec![0; MIB]);
    let block_crc = block_crc.finalize();
    let copies = gib * 1024;
    let mut gzip = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..copies {
        gzip.extend_from_slice(&block);
        crc.combine(&crc32fast::Hasher::new_with_initial_len(
            block_crc, MIB as u64,
        ));
    }
    gzip.extend_from_slice(&[0x03, 0x00]); // A final, empty, fixed-Huffman block.
    gzip.extend_from_slice(&crc.finalize().to_le_bytes());
    gzip.extend_from_slice(&((copies * MIB as u64) as u32).to_le_bytes());
    gzip
}

#[test]
fn a_ten_gib_gzip_bomb_stops_at_the_entry_limit_with_exit_2() {
    let repo = Repo::new();
    let bomb = zeros_gzip(10);
    assert!(bomb.len() < 20 << 20, "the bomb is {} bytes", bomb.len());
    repo.write("logs/zeros.gz", &bomb);
    let run = repo.cio_hook(&["scan-path", "logs"]);
    run.expect_code(2)
        .expect_contains("logs/zeros.gz!zeros not scanned: the entry expands past 64 MiB")
        .expect_contains("--archive-max-entry-bytes");
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "one line, the limit and how to raise it:\n{}",
        run.stderr
    );
    // Raised past the entry limit, the total limit stops it.
    repo.cio_hook(&[
        "scan-path",
        "--archive-max-entry-bytes",
        "1G",
        "--archive-max-bytes",
        "96M",
        "logs",
    ])
    .expect_code(2)
    .expect_contains("its archives expand past 96 MiB in all")
    .expect_contains("--archive-max-bytes");
}

#[test]
fn deeply_nested_zips_stop_at_the_depth_limit_with_exit_2() {
    let repo = Repo::new();
    let token = api_token(2105);
    let mut nested = zip(&[("token.txt", format!("t = \"{token}\"\n").as_bytes())]);
    for level in 0..40 {
        nested = zip(&[(&format!("level{level}.zip"), &nested)]);
    }
    repo.write("deep.zip", &nested);
    repo.cio_hook(&["scan-path", "deep.zip"])
        .expect_code(2)
        .expect_no_full_token(&[&token])
        .expect_contains("nested deeper than 5")
        .expect_contains("--archive-max-depth");
    repo.cio_hook(&["scan-path", "--archive-max-depth", "50", "deep.zip"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("level0.zip!token.txt:1:6");
}

#[test]
fn a_hundred_thousand_entries_stop_at_the_entry_count_with_exit_2() {
    let repo = Repo::new();
    let names: Vec<String> = (0..100_000).map(|n| format!("f/{n}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|name| (name.as_str(), &b""[..])).collect();
    repo.write("many.tar.gz", gzip(&tar(&files)));
    repo.cio_hook(&["scan-path", "many.tar.gz"])
        .expect_code(2)
        .expect_contains("more than 50000 archive entries")
        .expect_contains("--archive-max-entries");
    repo.cio_hook(&[
        "scan-path",
        "--archive-max-entries",
        "100000",
        "many.tar.gz",
    ])
    .expect_code(0);
}

#[test]
fn a_corrupt_archive_fails_closed_naming_the_file() {
    let repo = Repo::new();
    let mut broken = crate_with_env_token(&api_token(2106));
    broken.truncate(broken.len() / 2);
    repo.write("broken.crate", &broken);
    repo.cio_hook(&["scan-path", "broken.crate"])
        .expect_code(2)
        .expect_contains("broken.crate")
        .expect_contains("not scanned: cannot read it");
}

#[test]
fn hooks_take_the_limits_from_the_environment() {
    let repo = Repo::new();
    repo.install_hooks();
    let image = tar(&[("layer.tar.gz", &gzip(&tar(&[("etc/motd", b"hello\n")])))]);
    repo.write("image.tar", &image);
    repo.git_ok(&["add", "."]);
    let run = repo.git_with_env(
        &[("CIO_HOOK_ARCHIVE_MAX_DEPTH", "1")],
        &["commit", "-q", "-m", "image"],
    );
    assert_ne!(run.code, 0);
    run.expect_contains("image.tar!layer.tar.gz not scanned: archives nested deeper than 1")
        .expect_contains("CIO_HOOK_ARCHIVE_MAX_DEPTH");
    assert_eq!(repo.commit_count(), 0);
    repo.commit("image", &[]).expect_code(0);
}
