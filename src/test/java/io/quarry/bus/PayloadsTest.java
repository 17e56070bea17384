package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;

class PayloadsTest {

  @Test
  void smallPayloadsTravelAsTheyAre() {
    byte[] json = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    Message message = Payloads.json(json, 1024);
    assertThat(message.getMessageProperties().getContentEncoding()).isNull();
    assertThat(message.getBody()).isEqualTo(json);
    assertThat(Payloads.decode(message.getBody(), null)).isEqualTo(json);
  }

  @Test
  void largePayloadsAreGzippedAndMarkedAndComeBackIntact() {
    byte[] json = ("{\"items\":\"" + "x".repeat(100_000) + "\"}").getBytes(StandardCharsets.UTF_8);
    Message message = Payloads.json(json, 65_536);
    assertThat(message.getMessageProperties().getContentEncoding()).isEqualTo("gzip");
    assertThat(message.getBody().length).isLessThan(json.length / 10);
    assertThat(Payloads.decode(message.getBody(), "gzip")).isEqualTo(json);
  }

  @Test
  void aBodyMarkedGzipThatIsNotIsRefusedWithAReason() {
    assertThatThrownBy(() -> Payloads.decode("{}".getBytes(StandardCharsets.UTF_8), "gzip"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not gzip");
  }
}
