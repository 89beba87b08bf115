package queue

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"time"

	"sluice/internal/storage"
)

// Message move task statuses (SQS ListMessageMoveTasks).
const (
	TaskRunning    = "RUNNING"
	TaskCompleted  = "COMPLETED"
	TaskCancelling = "CANCELLING"
	TaskCancelled  = "CANCELLED"
	TaskFailed     = "FAILED"
)

// MoveTask is the state of a message move task (StartMessageMoveTask).
// Tasks live in memory: a restart ends a running task (what it moved
// stays moved; the rest stays in the dead-letter queue) and forgets the
// list.
type MoveTask struct {
	Handle         string
	Status         string
	SourceARN      string
	DestinationARN string // "" means each message's original source queue
	MaxPerSecond   int    // 0: as fast as possible
	Moved          int64
	ToMove         int64
	FailureReason  string
	Started        time.Time
}

type moveTask struct {
	MoveTask
	cancel chan struct{} // closed by CancelMoveTask
}

// maxTasksListed is how many tasks ListMessageMoveTasks can return per
// source (AWS keeps the last 10).
const maxTasksListed = 10

// moveLease is how long the task hides the messages it is moving; a
// crash in the middle leaves them to reappear in the dead-letter queue.
const moveLease = time.Minute

// StartMoveTask starts moving the messages of the dead-letter queue
// sourceARN to destARN ("" sends each message back to the queue it was
// first sent to), at most maxPerSecond per second (0: no limit; else
// 1..500). It returns the task handle. Errors: ErrNoSuchQueue (either
// queue unknown), *ParameterError (the source is no dead-letter queue, bad
// rate), *UnsupportedError (a task already runs for the source).
func (s *Service) StartMoveTask(ctx context.Context, sourceARN, destARN string, maxPerSecond int) (string, error) {
	if maxPerSecond < 0 || maxPerSecond > 500 {
		return "", paramErr("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.", maxPerSecond)
	}
	srcName, err := s.NameFromARN(sourceARN)
	if err != nil {
		return "", err
	}
	src, err := s.load(ctx, srcName)
	if err != nil {
		return "", err
	}
	if destARN != "" {
		destName, err := s.NameFromARN(destARN)
		if err != nil {
			return "", err
		}
		if err := s.Exists(ctx, destName); err != nil {
			return "", err
		}
	}
	sources, _, err := s.DeadLetterSources(ctx, srcName, "", 1)
	if err != nil {
		return "", err
	}
	if len(sources) == 0 {
		return "", paramErr("Source queue must be configured as a Dead Letter Queue.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return "", ErrShuttingDown
	default:
	}
	for _, t := range s.tasks {
		if t.SourceARN == sourceARN && (t.Status == TaskRunning || t.Status == TaskCancelling) {
			return "", &UnsupportedError{Message: "There is already a task running. Only one active task is allowed for a source queue arn at a given time."}
		}
	}
	handle := base64.StdEncoding.EncodeToString([]byte(newUUID() + ":" + sourceARN))
	t := &moveTask{MoveTask: MoveTask{
		Handle: handle, Status: TaskRunning, SourceARN: sourceARN, DestinationARN: destARN,
		MaxPerSecond: maxPerSecond, ToMove: int64(s.store.Stats(src.storageName()).Visible),
		Started: s.clock.Now(),
	}, cancel: make(chan struct{})}
	s.tasks[handle] = t
	s.pruneTasks(sourceARN)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runMove(t, src)
	}()
	return handle, nil
}

// pruneTasks forgets the oldest finished tasks of a source beyond
// maxTasksListed. s.mu is held.
func (s *Service) pruneTasks(sourceARN string) {
	list := s.tasksOf(sourceARN)
	for _, t := range list[min(len(list), maxTasksListed):] {
		if t.Status != TaskRunning && t.Status != TaskCancelling {
			delete(s.tasks, t.Handle)
		}
	}
}

// tasksOf returns the tasks of a source, newest first. s.mu is held.
func (s *Service) tasksOf(sourceARN string) []*moveTask {
	var list []*moveTask
	for _, t := range s.tasks {
		if t.SourceARN == sourceARN {
			list = append(list, t)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Started.After(list[j].Started) })
	return list
}

// MoveTasks returns up to max (1..10) of the most recent tasks of the
// source queue, newest first. ErrNoSuchQueue.
func (s *Service) MoveTasks(ctx context.Context, sourceARN string, max int) ([]MoveTask, error) {
	name, err := s.NameFromARN(sourceARN)
	if err != nil {
		return nil, err
	}
	if err := s.Exists(ctx, name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MoveTask
	for _, t := range s.tasksOf(sourceARN) {
		if len(out) == max {
			break
		}
		out = append(out, t.MoveTask)
	}
	return out, nil
}

// CancelMoveTask asks a running task to stop and returns how many
// messages it has moved so far. ErrNoSuchTask for an unknown handle;
// *UnsupportedError when the task is not running.
func (s *Service) CancelMoveTask(handle string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[handle]
	if !ok {
		return 0, ErrNoSuchTask
	}
	if t.Status != TaskRunning {
		return 0, &UnsupportedError{Message: "Only active tasks can be cancelled."}
	}
	t.Status = TaskCancelling
	close(t.cancel)
	return t.Moved, nil
}

func (s *Service) finishTask(t *moveTask, status, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Status == TaskCancelling && status == TaskCompleted {
		status = TaskCancelled
	}
	t.Status, t.FailureReason = status, reason
}

// runMove moves messages until ToMove are moved or the dead-letter queue
// has no visible message left. Each message is acknowledged in the
// dead-letter queue and enqueued in its destination in one commit, as a
// new message (receive count 0), so that a message moved back to its
// source is not redriven again at once.
func (s *Service) runMove(t *moveTask, src *record) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
		case <-t.cancel:
		case <-ctx.Done():
		}
		cancel()
	}()
	sq := src.storageName()
	for {
		s.mu.Lock()
		left := t.ToMove - t.Moved
		s.mu.Unlock()
		if left <= 0 || ctx.Err() != nil {
			s.finishTask(t, TaskCompleted, "")
			return
		}
		n := int(min(left, MaxBatchEntries))
		if t.MaxPerSecond > 0 {
			n = min(n, t.MaxPerSecond)
		}
		leased, err := s.store.Lease(ctx, sq, storage.LeaseOptions{Max: n, Visibility: moveLease})
		if err != nil {
			if ctx.Err() != nil {
				s.finishTask(t, TaskCompleted, "")
			} else {
				s.finishTask(t, TaskFailed, err.Error())
			}
			return
		}
		if len(leased) == 0 {
			s.finishTask(t, TaskCompleted, "")
			return
		}
		if err := s.moveBatch(ctx, t, sq, leased); err != nil {
			s.finishTask(t, TaskFailed, err.Error())
			return
		}
		s.mu.Lock()
		t.Moved += int64(len(leased))
		s.mu.Unlock()
		if t.MaxPerSecond > 0 {
			select {
			case <-s.clock.After(time.Duration(len(leased)) * time.Second / time.Duration(t.MaxPerSecond)):
			case <-ctx.Done():
			}
		}
	}
}

func (s *Service) moveBatch(ctx context.Context, t *moveTask, sq string, leased []storage.Leased) error {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		for i := range leased {
			l := &leased[i]
			dest := t.DestinationARN
			if dest == "" {
				dest = l.Attributes[metaSource]
			}
			destName, err := s.NameFromARN(dest)
			if err != nil {
				return errors.New("The destination queue " + dest + " does not exist.")
			}
			r, err := s.cachedRecord(tx, destName)
			if errors.Is(err, ErrNoSuchQueue) {
				return errors.New("The destination queue " + dest + " does not exist.")
			}
			if err != nil {
				return err
			}
			if err := tx.Ack(sq, l.Receipt); err != nil {
				if errors.Is(err, storage.ErrStaleReceipt) {
					continue // deleted by a consumer meanwhile
				}
				return err
			}
			attrs := make(map[string]string, len(l.Attributes))
			for k, v := range l.Attributes {
				attrs[k] = v
			}
			if _, err := tx.Enqueue(r.storageName(), storage.Message{Body: l.Body, Attributes: attrs}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Give the messages back to the dead-letter queue at once.
		for i := range leased {
			s.store.Update(context.Background(), func(tx storage.Tx) error {
				return tx.Extend(sq, leased[i].Receipt, s.clock.Now())
			})
		}
	}
	return err
}
