package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
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
}
