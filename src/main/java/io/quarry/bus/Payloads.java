package io.quarry.bus;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;

/**
 * JSON payloads on the bus: persistent, {@code application/json}, gzip-compressed with AMQP {@code
 * content-encoding: gzip} above the threshold. Readers accept both forms.
 */
public final class Payloads {

  public static final String GZIP = "gzip";

  /** A decoded payload never exceeds this, so a compressed bomb cannot exhaust memory. */
  private static final int MAX_DECODED_BYTES = 64 * 1024 * 1024;

  private Payloads() {}

  public static Message json(byte[] body, int compressionThreshold) {
    MessageProperties properties = new MessageProperties();
    properties.setContentType(MessageProperties.CONTENT_TYPE_JSON);
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    if (body.length > compressionThreshold) {
      properties.setContentEncoding(GZIP);
      return new Message(gzip(body), properties);
    }
    return new Message(body, properties);
  }

  /** The JSON bytes of a message body, decompressed when its content encoding is gzip. */
  public static byte[] decode(byte[] body, String contentEncoding) {
    if (contentEncoding == null || !contentEncoding.trim().equalsIgnoreCase(GZIP)) {
      return body;
    }
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
      byte[] decoded = in.readNBytes(MAX_DECODED_BYTES + 1);
      if (decoded.length > MAX_DECODED_BYTES) {
        throw new IllegalArgumentException(
            "gzip payload larger than " + MAX_DECODED_BYTES + " bytes");
      }
      return decoded;
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "content-encoding gzip but the body is not gzip: " + e.getMessage());
    }
  }

  static byte[] gzip(byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length / 4 + 64);
    try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
      gzip.write(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
