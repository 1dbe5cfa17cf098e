FROM python:3.11-slim
WORKDIR /app
# OpenCV (pulled in by rapidocr-onnxruntime, the offline OCR of uploaded documents) links libGL and GLib.
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV ENGAGE_HOST=0.0.0.0
CMD ["python", "app.py", "web"]
