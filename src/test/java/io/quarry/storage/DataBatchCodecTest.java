package io.quarry.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.quarry.bus.Payloads;
import io.quarry.message.DataBatch;
import io.quarry.message.DataBatch.PageItems;
import io.quarry.message.InvalidMessageException;
import io.quarry.support.TestProperties;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
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
    DataBatch batch = codec.read(version1("").getBytes(StandardCharsets.UTF_8), null);

    assertThat(batch.version()).isEqualTo(1);
    assertThat(batch.batchId()).isEqualTo(RUN + ":42:posts:3");
    assertThat(batch.pages()).hasSize(1);
    assertThat(batch.pages().get(0).page()).isEqualTo(3);
    assertThat(batch.pageId(3)).isEqualTo(batch.batchId());
    assertThat(batch.items()).extracting(i -> i.path("id").asText()).containsExactly("a", "b");
  }

  @Test
  void writesVersion2WithEveryPageAndReadsItBack() throws Exception {
    DataBatch batch = pages(new PageItems(2, items("p2", 2)), new PageItems(4, items("p4", 3)));
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
    DataBatch batch = pages(new PageItems(1, items("a", 20)), new PageItems(2, items("b", 20)));
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

  @Test
  void theSubscribersReaderRefusesWhatTheTreeReaderRefuses() {
    String base = "\"batchId\":\"b\",\"stream\":\"posts\",\"userId\":42,\"runId\":\"" + RUN + "\"";
    String page = ",\"pages\":[{\"page\":1,\"items\":[";
    assertRefused("[1,2]");
    assertRefused("{\"version\":2," + base.replace("42", "0") + page + "{\"id\":\"a\"}]}]}");
    assertRefused("{\"version\":2," + base.replace("posts", "unknown") + page + "]}]}");
    assertRefused("{\"version\":2," + base.replace(RUN.toString(), "not-a-uuid") + page + "]}]}");
    assertRefused("{\"version\":2," + base + page + "{\"id\":\"a\"}");
    assertRefused("{\"version\":2," + base + page + "\"a\"]}]}");
    assertRefused("{\"version\":2," + base + ",\"pages\":[7]}");
    assertRefused("{\"version\":2," + base + ",\"pages\":{\"page\":1}}");
    assertRefused("not json");
    // the subscribers' reader, like the miner's page reader, wants an id of text or integer
    for (String id :
        List.of("{\"x\":1}", "\" \"", "\"\\t\\u2003\"", "\"\"", "true", "1.5", "null")) {
      byte[] body =
          ("{\"version\":2," + base + page + "{\"a\":1,\"id\":" + id + "}]}]}")
              .getBytes(StandardCharsets.UTF_8);
      for (DataBatchCodec.Keep keep : DataBatchCodec.Keep.values()) {
        assertThatThrownBy(() -> codec.readReceived(body, null, keep))
            .as(id + " read keeping " + keep)
            .isInstanceOf(InvalidMessageException.class)
            .hasMessageContaining("without id");
      }
    }
    // the last of a repeated id field decides, whatever is kept
    byte[] lastIdBlank =
        ("{\"version\":2," + base + page + "{\"id\":\"a\",\"id\":\" \"}]}]}")
            .getBytes(StandardCharsets.UTF_8);
    byte[] lastIdGood =
        ("{\"version\":2," + base + page + "{\"id\":\" \",\"id\":\"a\"}]}]}")
            .getBytes(StandardCharsets.UTF_8);
    for (DataBatchCodec.Keep keep : DataBatchCodec.Keep.values()) {
      assertThatThrownBy(() -> codec.readReceived(lastIdBlank, null, keep))
          .isInstanceOf(InvalidMessageException.class);
      assertThat(codec.readReceived(lastIdGood, null, keep).itemCount()).isEqualTo(1);
    }
  }

  @Test
  void theSubscribersReaderKeepsEachItemsTextIdAndDay() throws Exception {
    List<JsonNode> page2 = new ArrayList<>();
    page2.add(
        json.readTree(
            "{\"id\":\"x-1\",\"createdAt\":\"2025-03-01T00:30:00+01:00\","
                + "\"nested\":{\"id\":\"not this one\",\"list\":[1,{\"a\":[]},\"}\"]},"
                + "\"text\":\"quotes \\\" and \\\\ and \\u00e9t\u00e9 \u2603 \\n\"}"));
    page2.add(json.readTree("{\"createdAt\":\"2025-03-02T10:00:00Z\",\"id\":17}"));
    page2.add(json.readTree("{\"id\":\"no-date\",\"createdAt\":\"yesterday\"}"));
    DataBatch batch =
        pages(
            new PageItems(2, page2), new PageItems(3, items("p3", 2)), new PageItems(4, List.of()));

    for (DataBatchCodec writer :
        List.of(codec, new DataBatchCodec(json, TestProperties.posts(3, false, 64)))) {
      Message message = writer.write(batch);
      ReceivedBatch received =
          codec.readReceived(
              message.getBody(), message.getMessageProperties().getContentEncoding());

      assertThat(received.version()).isEqualTo(2);
      assertThat(received.batchId()).isEqualTo(batch.batchId());
      assertThat(received.stream()).isEqualTo("posts");
      assertThat(received.userId()).isEqualTo(42);
      assertThat(received.runId()).isEqualTo(RUN);
      assertThat(received.pages()).extracting(ReceivedBatch.Page::page).containsExactly(2L, 3L, 4L);
      assertThat(received.itemCount()).isEqualTo(5);
      assertThat(received.items())
          .extracting(ReceivedBatch.Item::id)
          .containsExactly("x-1", "17", "no-date", "p3-0", "p3-1");
      assertThat(received.pageId(3)).isEqualTo(batch.pageId(3));
      List<ReceivedBatch.Item> items = received.pages().get(0).items();
      assertThat(items).extracting(ReceivedBatch.Item::id).containsExactly("x-1", "17", "no-date");
      assertThat(items)
          .extracting(ReceivedBatch.Item::day)
          .containsExactly(LocalDate.of(2025, 2, 28), LocalDate.of(2025, 3, 2), null);
      for (int i = 0; i < items.size(); i++) {
        assertThat(json.readTree(items.get(i).json())).isEqualTo(page2.get(i));
      }
      assertThat(received.pages().get(1).items())
          .extracting(item -> json.readTree(item.json()))
          .containsExactlyElementsOf(batch.pages().get(1).items());

      // analytics keeps the days only, notification nothing of the items; the rest is the same
      byte[] body = message.getBody();
      String encoding = message.getMessageProperties().getContentEncoding();
      ReceivedBatch days = codec.readDays(body, encoding);
      ReceivedBatch checked = codec.readChecked(body, encoding);
      for (ReceivedBatch lighter : List.of(days, checked)) {
        assertThat(lighter)
            .usingRecursiveComparison()
            .comparingOnlyFields("version", "batchId", "stream", "userId", "runId")
            .isEqualTo(received);
        assertThat(lighter.pages())
            .extracting(ReceivedBatch.Page::page)
            .containsExactly(2L, 3L, 4L);
        assertThat(lighter.itemCount()).isEqualTo(5);
        assertThat(lighter.items()).extracting(ReceivedBatch.Item::id).containsOnlyNulls();
        assertThat(lighter.items()).extracting(ReceivedBatch.Item::json).containsOnlyNulls();
      }
      assertThat(days.items())
          .extracting(ReceivedBatch.Item::day)
          .containsExactlyElementsOf(
              received.items().stream().map(ReceivedBatch.Item::day).toList());
      assertThat(checked.items()).extracting(ReceivedBatch.Item::day).containsOnlyNulls();
    }
  }

  @Test
  void whetherEarlierRunsStoredItemsTravelsWithTheBatchAndIsAssumedWhenNotSaid() throws Exception {
    DataBatch firstRun =
        DataBatch.of("posts", 42, RUN, List.of(new PageItems(1, items("f", 2))), false);
    for (DataBatchCodec writer :
        List.of(codec, new DataBatchCodec(json, TestProperties.posts(3, false, 64)))) {
      Message message = writer.write(firstRun);
      String encoding = message.getMessageProperties().getContentEncoding();
      assertThat(codec.read(message.getBody(), encoding).earlierItems()).isFalse();
      for (DataBatchCodec.Keep keep : DataBatchCodec.Keep.values()) {
        assertThat(codec.readReceived(message.getBody(), encoding, keep).earlierItems()).isFalse();
      }
    }
    Message later = codec.write(DataBatch.of("posts", 42, RUN, 1, items("g", 1)));
    assertThat(codec.readReceived(later.getBody(), null).earlierItems()).isTrue();
    assertThat(codec.read(later.getBody(), null).earlierItems()).isTrue();
    // a batch that does not say (version 1, or written before the field) looks every item up
    byte[] unsaid = version1("").getBytes(StandardCharsets.UTF_8);
    assertThat(codec.readReceived(unsaid, null).earlierItems()).isTrue();
    assertThat(codec.read(unsaid, null).earlierItems()).isTrue();
    String withoutTheField = new String(later.getBody(), StandardCharsets.UTF_8);
    withoutTheField = withoutTheField.replace(",\"earlierItems\":true", "");
    assertThat(withoutTheField).doesNotContain("earlierItems");
    byte[] v2unsaid = withoutTheField.getBytes(StandardCharsets.UTF_8);
    assertThat(codec.readReceived(v2unsaid, null).earlierItems()).isTrue();
    assertThat(codec.read(v2unsaid, null).earlierItems()).isTrue();
  }

  @Test
  void theSubscribersReaderReadsVersion1() {
    ReceivedBatch batch =
        codec.readReceived(
            version1("\"extra\":{\"items\":[1]},").getBytes(StandardCharsets.UTF_8), null);

    assertThat(batch.version()).isEqualTo(1);
    assertThat(batch.pages()).hasSize(1);
    assertThat(batch.pages().get(0).page()).isEqualTo(3);
    assertThat(batch.pages().get(0).items())
        .extracting(ReceivedBatch.Item::json)
        .containsExactly("{\"id\":\"a\"}", "{\"id\":\"b\"}");
  }

  /** A version 2 batch of user 42's posts with these pages. */
  private static DataBatch pages(PageItems... pages) {
    return DataBatch.of("posts", 42, RUN, List.of(pages));
  }

  /** A version 1 batch of page 3 with items a and b, {@code extra} fields after the version. */
  private static String version1(String extra) {
    return "{\"version\":1,"
        + extra
        + "\"batchId\":\""
        + RUN
        + ":42:posts:3\",\"stream\":\"posts\",\"userId\":42,\"runId\":\""
        + RUN
        + "\",\"page\":3,\"items\":[{\"id\":\"a\"},{\"id\":\"b\"}]}";
  }

  private void assertRefused(String body) {
    assertThatThrownBy(() -> codec.read(body.getBytes(StandardCharsets.UTF_8), null))
        .as(body)
        .isInstanceOf(InvalidMessageException.class);
    for (DataBatchCodec.Keep keep : DataBatchCodec.Keep.values()) {
      assertThatThrownBy(
              () -> codec.readReceived(body.getBytes(StandardCharsets.UTF_8), null, keep))
          .as("subscribers' reader keeping " + keep + ": " + body)
          .isInstanceOf(InvalidMessageException.class);
    }
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

  @Test
  void aStreamWithANestedItemIdIsReadByItsIdPathByEveryReader() throws Exception {
    var base = TestProperties.posts(3, false, 65536);
    var posts = base.streams().get("posts");
    var nested =
        TestProperties.of(
            base.platform(),
            java.util.Map.of(
                "posts",
                new io.quarry.config.StreamProperties(
                    posts.schedule(),
                    posts.apiPath(),
                    posts.pageSize(),
                    posts.pagesPerMessage(),
                    posts.parser(),
                    posts.subscribers(),
                    0,
                    null,
                    new io.quarry.config.StreamProperties.Items(null, "/meta/key"),
                    null,
                    null,
                    null)),
            base.mining());
    DataBatchCodec reader = new DataBatchCodec(json, nested);
    // no top-level id at all: the id is only at /meta/key, after a decoy field of the same name
    var items =
        List.of(
            json.readTree(
                "{\"key\":\"decoy\",\"meta\":{\"other\":{\"key\":\"x\"},\"key\":\"k-1\"},"
                    + "\"createdAt\":\"2026-12-01T10:00:00Z\"}"),
            json.readTree("{\"meta\":{\"key\":17},\"createdAt\":\"2026-12-02T10:00:00Z\"}"));
    byte[] body = reader.write(DataBatch.of("posts", 42, RUN, 1, items)).getBody();

    assertThat(reader.readReceived(body, null).pages().get(0).items())
        .extracting(ReceivedBatch.Item::id)
        .containsExactly("k-1", "17");
    assertThat(reader.readDays(body, null).itemCount()).isEqualTo(2);
    assertThat(reader.readChecked(body, null).itemCount()).isEqualTo(2);
    assertThat(reader.read(body, null).items()).hasSize(2);
    // the platform-wide reader finds no top-level id in these items and refuses the batch
    assertThatThrownBy(() -> codec.readReceived(body, null))
        .isInstanceOf(InvalidMessageException.class);

    byte[] missing =
        reader
            .write(DataBatch.of("posts", 42, RUN, 1, List.of(json.readTree("{\"meta\":{}}"))))
            .getBody();
    for (DataBatchCodec.Keep keep : DataBatchCodec.Keep.values()) {
      assertThatThrownBy(() -> reader.readReceived(missing, null, keep))
          .isInstanceOf(InvalidMessageException.class)
          .hasMessageContaining("/meta/key");
    }
    assertThatThrownBy(() -> reader.read(missing, null))
        .isInstanceOf(InvalidMessageException.class);
  }
}
