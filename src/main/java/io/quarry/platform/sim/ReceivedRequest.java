package io.quarry.platform.sim;

import java.time.Instant;
import java.util.Map;

/**
 * A request as the simulator saw it, for tests that check what a client sent.
 *
 * @param stream the stream segment of the path
 * @param query decoded query parameters (the last value of a repeated name)
 * @param authorization the {@code Authorization} header, or null
 * @param apiKey the {@code X-Api-Key} header, or null
 * @param receivedAt when the simulator received it, for tests that check how a client paced itself
 */
public record ReceivedRequest(
    String stream,
    Map<String, String> query,
    String authorization,
    String apiKey,
    Instant receivedAt) {

  public ReceivedRequest {
    query = Map.copyOf(query);
  }
}
