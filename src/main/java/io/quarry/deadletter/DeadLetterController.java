package io.quarry.deadletter;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;
import org.hibernate.validator.constraints.Range;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** Parked dead letters: list (any logged-in user), replay and discard (admin role, CSRF token). */
@RestController
@RequestMapping("/api/dead-letters")
public class DeadLetterController {

  /** A parked message as listed: the payload only as a preview. */
  public record View(
      long id,
      String sourceQueue,
      String reason,
      String exceptionClass,
      String routeId,
      int attempts,
      boolean permanent,
      Instant parkedAt,
      String payloadPreview) {}

  private final DeadLetterService deadLetters;

  public DeadLetterController(DeadLetterService deadLetters) {
    this.deadLetters = deadLetters;
  }

  /**
   * Open letters, newest first: {@code limit} 1 to 500 (50), {@code offset} from 0; a value outside
   * is answered 400, not clamped.
   */
  @GetMapping
  public List<View> open(
      @RequestParam(defaultValue = "50") @Range(min = 1, max = 500) int limit,
      @RequestParam(defaultValue = "0") @Min(value = 0, message = "must be at least 0")
          int offset) {
    return deadLetters.open(limit, offset).stream()
        .map(
            p ->
                new View(
                    p.id(),
                    p.sourceQueue(),
                    p.reason(),
                    p.exceptionClass(),
                    p.routeId(),
                    p.attempts(),
                    p.permanent(),
                    p.parkedAt(),
                    preview(p)))
        .toList();
  }

  /** {@code replayed} false: already handled; {@code detail}: what the replay set going. */
  @PostMapping("/{id}/replay")
  public Map<String, Object> replay(@PathVariable long id, Principal user) {
    DeadLetterService.Replay replay = deadLetters.replay(id, user.getName());
    Map<String, Object> answer = new java.util.LinkedHashMap<>();
    answer.put("id", id);
    answer.put("replayed", replay.replayed());
    if (replay.detail() != null) {
      answer.put("detail", replay.detail());
    }
    return answer;
  }

  @PostMapping("/{id}/discard")
  public Map<String, Object> discard(@PathVariable long id, Principal user) {
    return Map.of("id", id, "discarded", deadLetters.discard(id, user.getName()));
  }

  /** Several at once: {@code {"ids": [1, 2, 3]}}, at most 500, none null. */
  public record Selection(
      @NotEmpty(message = "must name at least one dead letter")
          @Size(max = 500, message = "at most 500 ids at once")
          List<@NotNull Long> ids) {}

  /**
   * What a bulk action did: the ids it handled, those already handled, those unknown, and those it
   * refused with the reason (a replay whose chain is being mined).
   */
  public record BulkResult(
      List<Long> done, List<Long> alreadyHandled, List<Long> unknown, Map<Long, String> refused) {}

  @PostMapping("/replay")
  public BulkResult replayAll(@Valid @RequestBody Selection selection, Principal user) {
    return bulk(selection, id -> deadLetters.replay(id, user.getName()).replayed());
  }

  @PostMapping("/discard")
  public BulkResult discardAll(@Valid @RequestBody Selection selection, Principal user) {
    return bulk(selection, id -> deadLetters.discard(id, user.getName()));
  }

  private static BulkResult bulk(Selection selection, LongPredicate action) {
    List<Long> done = new ArrayList<>();
    List<Long> handled = new ArrayList<>();
    List<Long> unknown = new ArrayList<>();
    Map<Long, String> refused = new java.util.LinkedHashMap<>();
    for (long id : new LinkedHashSet<>(selection.ids())) {
      try {
        (action.test(id) ? done : handled).add(id);
      } catch (DeadLetterService.UnknownDeadLetterException e) {
        unknown.add(id);
      } catch (DeadLetterService.ReplayRefusedException e) {
        refused.put(id, e.getMessage());
      }
    }
    return new BulkResult(done, handled, unknown, refused);
  }

  @ExceptionHandler(DeadLetterService.ReplayRefusedException.class)
  ProblemDetail refused(DeadLetterService.ReplayRefusedException e) {
    return ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, e.getMessage());
  }

  @ExceptionHandler(DeadLetterService.UnknownDeadLetterException.class)
  ProblemDetail unknown(DeadLetterService.UnknownDeadLetterException e) {
    return ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, e.getMessage());
  }

  private static String preview(DeadLetterRepository.Parked parked) {
    if ("gzip".equalsIgnoreCase(parked.contentEncoding())) {
      return "(gzip, " + parked.body().length + " bytes)";
    }
    String text = new String(parked.body(), StandardCharsets.UTF_8);
    return text.length() > 300 ? text.substring(0, 300) + "…" : text;
  }
}
