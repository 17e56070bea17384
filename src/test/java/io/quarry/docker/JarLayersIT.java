package io.quarry.docker;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar splits into the layers docker/Dockerfile copies, and the extracted directories
 * hold what {@code JarLauncher} needs. Runs after {@code package} (Failsafe), with the same {@code
 * -Djarmode=tools} commands the Dockerfile's build stage runs.
 */
class JarLayersIT {

  private static final List<String> LAYERS =
      List.of("dependencies", "spring-boot-loader", "snapshot-dependencies", "application");

  /** A layer name as list-layers prints it; other lines (library log noise) are not layers. */
  private static final String LAYER_NAME = "[a-z0-9]+(-[a-z0-9]+)*";

  private static Path jar;

  @TempDir Path work;

  @BeforeAll
  static void findJar() throws IOException {
    jar = io.quarry.support.PackagedJar.find();
  }

  @Test
  void listsExactlyTheFourLayersTheDockerfileCopiesInThatOrder() throws Exception {
    List<String> layers =
        Files.readAllLines(jarmode("list-layers")).stream()
            .map(String::trim)
            .filter(line -> line.matches(LAYER_NAME))
            .toList();

    assertThat(layers).as("layers of %s", jar).containsExactlyElementsOf(LAYERS);
  }

  @Test
  void extractsTheLoaderTheLibrariesAndQuarrysClassesIntoTheirLayers() throws Exception {
    Path destination = work.resolve("extracted");
    jarmode("extract", "--layers", "--launcher", "--destination", destination.toString());

    for (String layer : LAYERS) {
      // The Dockerfile copies each layer directory, so even an empty one must exist.
      assertThat(destination.resolve(layer)).as("layer directory %s", layer).isDirectory();
    }
    Path application = destination.resolve("application/BOOT-INF/classes");
    assertThat(application.resolve("io/quarry/QuarryApplication.class"))
        .as("Quarry's main class in the application layer")
        .isRegularFile();
    assertThat(
            destination.resolve(
                "spring-boot-loader/org/springframework/boot/loader/launch/JarLauncher.class"))
        .as("the launcher the image's ENTRYPOINT runs")
        .isRegularFile();
    Path libraries = destination.resolve("dependencies/BOOT-INF/lib");
    assertThat(libraries).as("libraries of the dependencies layer").isDirectory();
    try (Stream<Path> files = Files.list(libraries)) {
      assertThat(files.map(path -> path.getFileName().toString()))
          .as("libraries in %s", libraries)
          .anyMatch(name -> name.startsWith("camel-core-engine-") && name.endsWith(".jar"));
    }
  }

  /**
   * Runs {@code java -Djarmode=tools -jar <jar> <arguments>} with this JVM's java, fails unless it
   * exits 0 within a minute, and returns the file holding its standard output.
   */
  private Path jarmode(String... arguments) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Djarmode=tools");
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(List.of(arguments));

    // Output goes to files, so the process never blocks on a full pipe.
    Path stdout = Files.createTempFile(work, "stdout", ".txt");
    Path stderr = Files.createTempFile(work, "stderr", ".txt");
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    if (!process.waitFor(60, SECONDS)) {
      process.destroyForcibly();
      fail("%s did not finish within 60 s", command);
    }
    assertThat(process.exitValue())
        .as(
            "exit code of %s; stdout:%n%s%nstderr:%n%s",
            command, Files.readString(stdout), Files.readString(stderr))
        .isZero();
    return stdout;
  }
}
