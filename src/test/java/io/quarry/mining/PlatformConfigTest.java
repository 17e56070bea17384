package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.config.QuarryProperties;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.support.TestProperties;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The simulator Quarry starts inside itself (dev profile) serves the configured faults. */
class PlatformConfigTest {

  private static QuarryProperties withFaults(List<String> faults) {
    QuarryProperties base = TestProperties.posts(5, false, 65536);
    QuarryProperties.Platform p = base.platform();
    QuarryProperties.Platform platform =
        new QuarryProperties.Platform(
            URI.create("http://127.0.0.1:0"), // any free port
            p.connectTimeout(),
            p.readTimeout(),
            p.itemsPath(),
            p.nextMarkerPath(),
            p.hasMorePath(),
            p.itemIdField(),
            p.tokenPlacement(),
            p.tokenParameter(),
            true,
            faults);
    return new QuarryProperties(
        base.environment(),
        platform,
        base.rabbitmq(),
        base.database(),
        base.security(),
        base.streams(),
        base.scheduler(),
        base.jobs(),
        base.outbox(),
        base.notification(),
        base.mining(),
        null);
  }

  @Test
  void theEmbeddedSimulatorServesTheConfiguredFaults() throws Exception {
    try (PlatformSimulator simulator =
        new PlatformConfig()
            .platformSimulator(
                withFaults(
                    List.of("demo-user-3=unauthorized", "demo-user-5=body-errors:1:400:190")))) {
      assertThat(status(simulator, "demo-user-3")).isEqualTo(401);
      assertThat(status(simulator, "demo-user-5")).isEqualTo(400);
      assertThat(status(simulator, "demo-user-5")).isEqualTo(200);
      assertThat(status(simulator, "demo-user-4")).isEqualTo(200);
    }
  }

  @Test
  void anUnknownFaultStopsStartUpWithTheKnownOnes() {
    assertThatThrownBy(
            () -> new PlatformConfig().platformSimulator(withFaults(List.of("demo-user-3=sleepy"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("known: unauthorized");
    assertThatThrownBy(
            () ->
                new PlatformConfig()
                    .platformSimulator(withFaults(List.of("demo-user-3=app-usage:0"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fault 'app-usage:0'")
        .hasMessageContaining("app-usage:PERCENT");
  }

  private static int status(PlatformSimulator simulator, String user) throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(simulator.baseUrl().resolve("/users/" + user + "/posts"))
            .header("Authorization", "Bearer t")
            .build();
    return HttpClient.newHttpClient()
        .send(request, HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }
}
