package io.quarry.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.quarry.bus.Payloads;
import io.quarry.mining.DataBatch;
import io.quarry.mining.DataBatch.PageItems;
import io.quarry.mining.InvalidMessageException;
import io.quarry.support.TestProperties;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;

/** The data batch on the wire: version 2 written, version 1 (one page) still read. */
class DataBatchCodecTest {

  private static final UUID RUN = UUID.fromString("7d5c4f1e-2a43-4b8c-9a57-0d6e5f1e2a43");

  private final ObjectMapper json = new ObjectMapper().findAndRegisterModules();
  private final DataBatchCodec codec =
      new DataBatchCodec(json, TestProperties.posts(3, false, 65536));

  @Test
  void readsAVersion1BatchAsABatchOfItsOnePage() {
    String v1 =
        "{\"version\":1,\"batchId\":\""
            + RUN
            + ":42:posts:3\",\"stream\":\"posts\",\"userId\":42,\"runId\":\""
            + RUN
            + "\",\"page\":3,\"items\":[{\"id\":\"a\"},{\"id\":\"b\"}]}";

    DataBatch batch = codec.read(v1.getBytes(StandardCharsets.UTF_8), null);

    assertThat(batch.version()).isEqualTo(1);
    assertThat(batch.batchId()).isEqualTo(RUN + ":42:posts:3");
    assertThat(batch.pages()).hasSize(1);
    assertThat(batch.pages().get(0).page()).isEqualTo(3);
    assertThat(batch.pageId(3)).isEqualTo(batch.batchId());
    assertThat(batch.items()).extracting(i -> i.path("id").asText()).containsExactly("a", "b");
  }

  @Test
  void writesVersion2WithEveryPageAndReadsItBack() throws Exception {
    DataBatch batch =
        DataBatch.of(
            "posts",
            42,
            RUN,
            List.of(new PageItems(2, items("p2", 2)), new PageItems(4, items("p4", 3))));
    Message message = codec.write(batch);

    assertThat(message.getMessageProperties().getMessageId()).isEqualTo(RUN + ":42:posts:2-4");
    assertThat(message.getMessageProperties().getContentEncoding()).isNull();
    JsonNode wire = json.readTree(message.getBody());
    assertThat(wire.path("version").asInt()).isEqualTo(2);
    assertThat(wire.has("items")).as("items only inside pages").isFalse();
    assertThat(wire.path("pages").get(1).path("page").asLong()).isEqualTo(4);

    DataBatch read = codec.read(message.getBody(), null);
    assertThat(read).isEqualTo(batch);
    assertThat(read.itemCount()).isEqualTo(5);
    assertThat(read.items())
        .extracting(i -> i.path("id").asText())
        .containsExactly("p2-0", "p2-1", "p4-0", "p4-1", "p4-2");
  }

  @Test
  void aBatchOfOnePageKeepsTheVersion1Id() {
    assertThat(DataBatch.of("posts", 42, RUN, 7, items("x", 1)).batchId())
        .isEqualTo(RUN + ":42:posts:7");
  }

  @Test
  void aBatchAboveTheThresholdTravelsCompressed() {
    DataBatchCodec small = new DataBatchCodec(json, TestProperties.posts(3, false, 1024));
    DataBatch batch =
        DataBatch.of(
            "posts",
            42,
            RUN,
            List.of(new PageItems(1, items("a", 20)), new PageItems(2, items("b", 20))));
    Message message = small.write(batch);

    assertThat(message.getMessageProperties().getContentEncoding()).isEqualTo(Payloads.GZIP);
    assertThat(small.read(message.getBody(), Payloads.GZIP)).isEqualTo(batch);
  }

  @Test
  void refusesBatchesWithoutPagesOrWithAnUnknownVersion() {
    String base = "\"batchId\":\"b\",\"stream\":\"posts\",\"userId\":42,\"runId\":\"" + RUN + "\"";
    assertRefused("{\"version\":2," + base + "}");
    assertRefused("{\"version\":2," + base + ",\"pages\":[]}");
    assertRefused("{\"version\":2," + base + ",\"pages\":[{\"page\":1}]}");
    assertRefused("{\"version\":2," + base + ",\"pages\":[{\"items\":[{\"id\":\"a\"}]}]}");
    assertRefused("{\"version\":2," + base + ",\"pages\":[{\"page\":1,\"items\":[{\"x\":1}]}]}");
    assertRefused("{\"version\":3," + base + ",\"pages\":[{\"page\":1,\"items\":[]}]}");
    assertRefused("{\"version\":1," + base + "}");
    assertRefused("{\"version\":1," + base + ",\"items\":[{\"id\":\"a\"}]}");
  }

  private void assertRefused(String body) {
    assertThatThrownBy(() -> codec.read(body.getBytes(StandardCharsets.UTF_8), null))
        .as(body)
        .isInstanceOf(InvalidMessageException.class);
  }

  private static List<JsonNode> items(String prefix, int count) {
    List<JsonNode> items = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      items.add(
          JsonNodeFactory.instance
              .objectNode()
              .put("id", prefix + "-" + i)
              .put("text", "item " + i + " of a page, long enough to count"));
    }
    return items;
  }
}
