package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.message.DataBatch;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ClickParserTest {

  private final ObjectMapper json = new ObjectMapper();

  @Test
  void normalisesAValidClick() throws Exception {
    var clean =
        ClickParser.normalise(
            json.readTree(
                "{\"id\":\"c\",\"adId\":\" AD-9 \",\"clickedAt\":\"2025-03-01T01:00:00-05:00\",\"cost\":\"1.23456\"}"));
    assertThat(clean.path("adId").asText()).isEqualTo("ad-9");
    assertThat(clean.path("clickedAt").asText()).isEqualTo("2025-03-01T06:00Z");
    assertThat(clean.path("cost").asText()).isEqualTo("1.2346");
  }

  @Test
  void refusesClicksWithoutAdIdTimeOrAValidCost() throws Exception {
    assertThat(
            ClickParser.normalise(
                json.readTree("{\"clickedAt\":\"2025-03-01T01:00:00Z\",\"cost\":\"1\"}")))
        .isNull();
    assertThat(
            ClickParser.normalise(
                json.readTree("{\"adId\":\"a\",\"clickedAt\":\"soon\",\"cost\":\"1\"}")))
        .isNull();
    assertThat(
            ClickParser.normalise(
                json.readTree(
                    "{\"adId\":\"a\",\"clickedAt\":\"2025-03-01T01:00:00Z\",\"cost\":\"-1\"}")))
        .isNull();
    assertThat(
            ClickParser.normalise(
                json.readTree(
                    "{\"adId\":\"a\",\"clickedAt\":\"2025-03-01T01:00:00Z\",\"cost\":\"free\"}")))
        .isNull();
  }

  @Test
  void parsesEveryPageOfABatchKeepingItsPagesAndId() throws Exception {
    var valid =
        json.readTree(
            "{\"id\":\"c1\",\"adId\":\"A\",\"clickedAt\":\"2025-03-01T01:00:00Z\",\"cost\":\"1\"}");
    var invalid = json.readTree("{\"id\":\"c2\",\"adId\":\"\"}");
    DataBatch raw =
        DataBatch.of(
            "ad-clicks",
            3,
            UUID.randomUUID(),
            List.of(
                new DataBatch.PageItems(4, List.of(valid, invalid)),
                new DataBatch.PageItems(5, List.of(invalid))),
            false);

    DataBatch parsed = new ClickParser().parse(raw);

    assertThat(parsed.batchId()).isEqualTo(raw.batchId());
    assertThat(parsed.earlierItems()).isFalse();
    assertThat(parsed.pages()).extracting(DataBatch.PageItems::page).containsExactly(4L, 5L);
    assertThat(parsed.pages().get(0).items()).hasSize(1);
    assertThat(parsed.pages().get(0).items().get(0).path("adId").asText()).isEqualTo("a");
    assertThat(parsed.pages().get(1).items()).isEmpty();
  }
}
