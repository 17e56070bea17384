package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** The start-up message for a queue with other settings says what to do and cites our own docs. */
class TopologyFailureAnalyzerTest {

  @Test
  void theActionSaysWhatToDoAndCitesAFileOfTheRepository() throws Exception {
    TopologyMismatchException failure =
        new TopologyMismatchException(
            "The broker already has queue 'posts-mining-queue-dev'", null);

    FailureAnalysis analysis = new TopologyFailureAnalyzer().analyze(failure);

    assertThat(analysis.getDescription()).contains("posts-mining-queue-dev");
    assertThat(analysis.getAction())
        .contains("drained and deleted")
        .contains("quarry.environment")
        .doesNotContain("../");
    Matcher cited = Pattern.compile("docs/[a-z-]+\\.md").matcher(analysis.getAction());
    assertThat(cited.find()).as("the action cites a document under docs/").isTrue();
    assertThat(Files.isRegularFile(Path.of(cited.group())))
        .as(cited.group() + " exists in the repository")
        .isTrue();
    assertThat(Files.readString(Path.of(cited.group()))).contains("## Names on the bus");
  }
}
