package io.quarry.notification;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A small SMTP server on a fixed local port whose replies the test chooses: a recipient can be
 * refused with any reply (550, 451), the server can be switched off (the port refuses connections)
 * or made silent (it accepts connections and never says a word). Accepted mails are kept by
 * recipient.
 */
final class ScriptedSmtpServer implements AutoCloseable {

  private final int port;
  private final Map<String, String> rcptReplies = new ConcurrentHashMap<>();
  private final List<String> delivered = new CopyOnWriteArrayList<>();
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private volatile ServerSocket server;
  private volatile boolean silent;

  ScriptedSmtpServer(int port) {
    this.port = port;
  }

  /** The reply to {@code RCPT TO} for this address, e.g. "550 5.1.1 user unknown". */
  void reply(String recipient, String reply) {
    rcptReplies.put(recipient.toLowerCase(Locale.ROOT), reply);
  }

  /** Accepts connections and never answers. */
  void silent(boolean silent) {
    this.silent = silent;
  }

  /** Recipients of the mails accepted so far, in order. */
  List<String> delivered() {
    return List.copyOf(delivered);
  }

  synchronized void start() {
    if (server != null) {
      return;
    }
    try {
      ServerSocket socket = new ServerSocket();
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      server = socket;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ServerSocket listening = server;
    threads.execute(
        () -> {
          while (!listening.isClosed()) {
            try {
              Socket client = listening.accept();
              open.add(client);
              threads.execute(() -> converse(client));
            } catch (IOException closed) {
              return;
            }
          }
        });
  }

  /** Closes the port: connections are refused until {@link #start()}. */
  synchronized void stop() {
    try {
      if (server != null) {
        server.close();
        server = null;
      }
      for (Socket socket : open) {
        socket.close();
      }
      open.clear();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    stop();
    threads.shutdownNow();
  }

  private void converse(Socket client) {
    try (client;
        BufferedReader in =
            new BufferedReader(
                new InputStreamReader(client.getInputStream(), StandardCharsets.US_ASCII));
        OutputStream out = client.getOutputStream()) {
      if (silent) {
        while (in.read() >= 0) {
          // hold the connection open without a greeting until the client gives up
        }
        return;
      }
      say(out, "220 scripted.test ESMTP");
      String recipient = null;
      boolean accepted = false;
      String line;
      while ((line = in.readLine()) != null) {
        String command = line.toUpperCase(Locale.ROOT);
        if (command.startsWith("EHLO") || command.startsWith("HELO")) {
          say(out, "250 scripted.test");
        } else if (command.startsWith("MAIL FROM")) {
          say(out, "250 2.1.0 OK");
        } else if (command.startsWith("RCPT TO")) {
          recipient =
              line.substring(line.indexOf('<') + 1, line.indexOf('>')).toLowerCase(Locale.ROOT);
          String reply = rcptReplies.getOrDefault(recipient, "250 2.1.5 OK");
          accepted = reply.startsWith("2");
          say(out, reply);
        } else if (command.equals("DATA")) {
          say(out, "354 end with <CRLF>.<CRLF>");
          while (!".".equals(in.readLine())) {
            // the message itself does not matter here
          }
          if (accepted) {
            delivered.add(recipient);
          }
          say(out, "250 2.0.0 queued");
        } else if (command.equals("QUIT")) {
          say(out, "221 2.0.0 bye");
          return;
        } else {
          say(out, "250 OK"); // RSET, NOOP
        }
      }
    } catch (IOException closedByTheTest) {
      // stop() closed the connection
    } finally {
      open.remove(client);
    }
  }

  private static void say(OutputStream out, String reply) throws IOException {
    out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }
}
