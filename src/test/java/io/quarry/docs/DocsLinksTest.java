package io.quarry.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The documentation stays usable from a clone: every relative link of the Markdown files resolves
 * to a file (and heading) inside the repository, nothing cites the design files outside it, the
 * README stays a newcomer's page, and it gives the test command that {@code .ci/run} runs.
 */
class DocsLinksTest {

  private static final Path ROOT = Path.of("").toAbsolutePath().normalize();

  /** Directories that hold no documentation of ours. */
  private static final Set<String> SKIPPED = Set.of(".git", "target", "node_modules", ".mvn");

  private static final Pattern LINK = Pattern.compile("\\[[^\\]]*]\\(([^)\\s]+)\\)");
  private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*:");
  private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.+?)\\s*#*\\s*$");
  private static final Pattern FENCE = Pattern.compile("(?s)```.*?```");

  /** The design files the project started from live next to the repository, not in it. */
  private static final String OUTSIDE = ".." + "/shared";

  @Test
  void everyRelativeLinkResolvesInsideTheRepository() throws IOException {
    List<String> broken = new ArrayList<>();
    List<Path> documents = markdownFiles();
    assertThat(documents).contains(ROOT.resolve("README.md"), ROOT.resolve("docs/architecture.md"));
    for (Path document : documents) {
      String text = FENCE.matcher(Files.readString(document)).replaceAll("");
      Matcher link = LINK.matcher(text);
      while (link.find()) {
        String target = link.group(1);
        if (SCHEME.matcher(target).find()) {
          continue;
        }
        String where = ROOT.relativize(document) + ": (" + target + ")";
        int hash = target.indexOf('#');
        String path = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = path.isEmpty() ? document : document.getParent().resolve(path).normalize();
        if (!resolved.startsWith(ROOT)) {
          broken.add(where + " points outside the repository");
        } else if (!Files.exists(resolved)) {
          broken.add(where + " names no file");
        } else if (anchor != null
            && resolved.toString().endsWith(".md")
            && !anchors(resolved).contains(anchor)) {
          broken.add(where + " names no heading of " + ROOT.relativize(resolved));
        }
      }
    }
    assertThat(broken).as("broken links").isEmpty();
  }

  @Test
  void nothingCitesTheDesignFilesOutsideTheRepository() throws IOException {
    List<String> citing = new ArrayList<>();
    for (String top : List.of("README.md", "pom.xml", "docs", "src", "docker", "bench", ".ci")) {
      for (Path file : files(ROOT.resolve(top))) {
        String text = readText(file);
        if (text != null && text.contains(OUTSIDE)) {
          citing.add(ROOT.relativize(file).toString());
        }
      }
    }
    assertThat(citing).as("files that cite " + OUTSIDE).isEmpty();
  }

  @Test
  void theReadmeStaysANewcomersPage() throws IOException {
    assertThat(Files.readAllLines(ROOT.resolve("README.md")))
        .as("README.md lines (details belong in docs/)")
        .hasSizeLessThanOrEqualTo(150);
  }

  @Test
  void theReadmeGivesTheTestCommandThatCiRuns() throws IOException {
    List<String> ci =
        Files.readAllLines(ROOT.resolve(".ci/run")).stream()
            .map(String::strip)
            .filter(line -> !line.isEmpty() && !line.startsWith("#"))
            .toList();
    String command = ci.get(ci.size() - 1);
    assertThat(command).as(".ci/run ends with the test command").startsWith("./mvnw");

    Matcher fence = FENCE.matcher(Files.readString(ROOT.resolve("README.md")));
    List<String> blocks = new ArrayList<>();
    while (fence.find()) {
      String block = fence.group();
      // Leave out the fence's info string (```sh) and the closing fence.
      blocks.add(block.substring(block.indexOf('\n') + 1, block.length() - 3).strip());
    }
    assertThat(blocks).as("README code blocks").contains(command);
  }

  /** GitHub's anchors of a Markdown file's headings (outside code blocks). */
  static Set<String> anchors(Path markdown) {
    String text;
    try {
      text = FENCE.matcher(Files.readString(markdown)).replaceAll("");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Set<String> anchors = new HashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    for (String line : text.split("\n")) {
      Matcher heading = HEADING.matcher(line);
      if (heading.matches()) {
        String slug = slug(heading.group(1));
        int count = seen.merge(slug, 1, Integer::sum);
        anchors.add(count == 1 ? slug : slug + "-" + (count - 1));
      }
    }
    return anchors;
  }

  static String slug(String heading) {
    return heading
        .strip()
        .toLowerCase(Locale.ROOT)
        .replaceAll("[^\\p{L}\\p{N} _-]", "")
        .replace(' ', '-');
  }

  private static List<Path> markdownFiles() throws IOException {
    return files(ROOT).stream().filter(file -> file.toString().endsWith(".md")).toList();
  }

  /** Every file under {@code start}, leaving out build output and version control. */
  private static List<Path> files(Path start) throws IOException {
    if (!Files.exists(start)) {
      return List.of();
    }
    List<Path> files = new ArrayList<>();
    Files.walkFileTree(
        start,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
            return SKIPPED.contains(dir.getFileName().toString())
                ? FileVisitResult.SKIP_SUBTREE
                : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
            if (attributes.isRegularFile() && !SKIPPED.contains(file.getFileName().toString())) {
              files.add(file);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    files.sort(null);
    return files;
  }

  /** The file as UTF-8 text, or null for a binary file. */
  private static String readText(Path file) throws IOException {
    try {
      return Files.readString(file);
    } catch (MalformedInputException binary) {
      return null;
    }
  }
}
