package io.quarry.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The Spring Boot jar that {@code package} leaves in {@code target/}, for tests run after it. */
public final class PackagedJar {

  private PackagedJar() {}

  public static Path find() throws IOException {
    List<Path> jars = new ArrayList<>();
    try (DirectoryStream<Path> found =
        Files.newDirectoryStream(Path.of("target"), "quarry-*.jar")) {
      found.forEach(jars::add);
    }
    jars.removeIf(path -> path.getFileName().toString().endsWith(".original"));
    assertThat(jars).as("the Spring Boot jar in target/ (run after package)").hasSize(1);
    return jars.get(0);
  }
}
