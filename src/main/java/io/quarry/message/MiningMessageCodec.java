package io.quarry.message;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.bus.Payloads;
import io.quarry.config.QuarryProperties;
import java.io.IOException;
import java.util.Set;
import java.util.UUID;
import org.apache.camel.Header;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.springframework.amqp.core.Message;
import org.springframework.stereotype.Component;

/** Reads and writes mining messages, refusing anything that is not a valid version-1 message. */
@Component
public class MiningMessageCodec {

  private final ObjectMapper json;
  private final Set<String> streams;
  private final int compressionThreshold;

  public MiningMessageCodec(ObjectMapper json, QuarryProperties properties) {
    this.json = json;
    this.streams = properties.streams().keySet();
    this.compressionThreshold = properties.mining().compressionThreshold();
  }

  /** Decodes a consumed body (gzip or not) into a validated message. */
  public MiningMessage read(
      byte[] body, @Header(SpringRabbitMQConstants.CONTENT_ENCODING) String contentEncoding) {
    JsonNode node;
    try {
      node = json.readTree(Payloads.decode(body, contentEncoding));
    } catch (IOException | IllegalArgumentException e) {
      throw new InvalidMessageException("mining message is not valid JSON: " + e.getMessage());
    }
    if (node == null || !node.isObject()) {
      throw new InvalidMessageException("mining message is not a JSON object");
    }
    int version = node.path("version").asInt(0);
    if (version != MiningMessage.VERSION) {
      throw new InvalidMessageException(
          "unsupported mining message version " + node.path("version"));
    }
    String stream = node.path("stream").asText(null);
    if (stream == null || !streams.contains(stream)) {
      throw new InvalidMessageException("unknown stream " + node.path("stream"));
    }
    JsonNode userId = node.get("userId");
    if (userId == null || !userId.canConvertToLong() || userId.asLong() <= 0) {
      throw new InvalidMessageException("missing or invalid userId");
    }
    UUID runId;
    try {
      runId = UUID.fromString(node.path("runId").asText(""));
    } catch (IllegalArgumentException e) {
      throw new InvalidMessageException("missing or invalid runId");
    }
    int limit = node.path("limit").asInt(0);
    int repeatsLimit = node.path("consecutiveBatchRepeatsLimit").asInt(0);
    if (limit < 1 || limit > 1000 || repeatsLimit < 1) {
      throw new InvalidMessageException("limit or consecutiveBatchRepeatsLimit out of range");
    }
    JsonNode marker = node.get("currentMarker");
    return new MiningMessage(
        version,
        stream,
        userId.asLong(),
        runId,
        limit,
        marker == null || marker.isNull() ? null : marker.asText(),
        Math.max(0, node.path("consecutiveBatchRepeats").asInt(0)),
        repeatsLimit,
        Math.max(0, node.path("pagesMined").asLong(0)),
        Math.max(0, node.path("itemsMined").asLong(0)));
  }

  public Message write(MiningMessage message) {
    try {
      Message amqp = Payloads.json(json.writeValueAsBytes(message), compressionThreshold);
      amqp.getMessageProperties().setType("MiningMessage");
      return amqp;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
